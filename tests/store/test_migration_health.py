"""Revision 0006 upgrades an installation that already holds usage and logs in place:
old usage rows cost one operation a call, old logs stay unresolved, old scores keep."""

import uuid

import psycopg

from store.migrate import downgrade, upgrade


def test_existing_usage_and_logs_survive_the_upgrade(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0004")
    tenant, integration = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Old', 'old')", (tenant,))
        conn.execute(
            "INSERT INTO integrations (id, tenant_id, provider_id, name, status, settings, "
            "sync_config, health_score, api_calls_today, api_calls_limit) SELECT %s, %s, id, "
            "'hubspot', 'active', '{}', '{}', 73, 120, 0 FROM integration_providers "
            "WHERE name = 'hubspot'", (integration, tenant))
        conn.execute(
            "INSERT INTO api_usage (id, tenant_id, integration_id, hour, calls, errors, "
            "rate_limited) VALUES (%s, %s, %s, date_trunc('hour', now()), 120, 3, 1)",
            (uuid.uuid4(), tenant, integration))
        conn.execute(
            "INSERT INTO health_logs (id, tenant_id, integration_id, severity, category, "
            "message, details, created_at) VALUES (%s, %s, %s, 'error', 'auth', 'token revoked', "
            "'{}', now())",
            (uuid.uuid4(), tenant, integration))
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        usage = conn.execute("SELECT calls, operations FROM api_usage").fetchone()
        log = conn.execute("SELECT resolved_at, resolved_by FROM health_logs").fetchone()
        row = conn.execute("SELECT health_score, health_reasons, usage_reported "
                           "FROM integrations").fetchone()
    assert usage == (120, 120)
    assert log == (None, None)
    assert row == (73, [], {})
    downgrade(empty_database_url, "0004")  # and back, for an operator who must
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT calls FROM api_usage").fetchone() == (120,)
