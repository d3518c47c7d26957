"""The schema comes up, seeds the seven providers, and goes all the way down again."""

import psycopg

from store.migrate import downgrade, upgrade

EXPECTED_PROVIDERS = {"hubspot", "salesforce", "mailchimp", "slack", "google_ads",
                      "facebook_ads", "zapier"}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def test_upgrade_creates_every_table_and_seeds_providers(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert _tables(empty_database_url) >= {
        "tenants", "users", "api_keys", "integration_providers", "integrations", "data_flows",
        "workflow_automations", "connectus_insights", "sync_runs", "synced_records",
        "workflow_runs", "webhook_events", "health_logs", "api_usage", "audit_logs"}
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute(
            "SELECT name, category, auth_type, oauth_config, api_endpoints, rate_limits, "
            "webhook_support, webhook_events FROM integration_providers").fetchall()
        vector = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'connectus_insights'::regclass AND attname = 'embedding'"
        ).fetchone()
    assert {r[0] for r in rows} == EXPECTED_PROVIDERS
    for name, category, auth_type, oauth, endpoints, limits, hooks, events in rows:
        assert category and auth_type, name
        assert endpoints.get("base_url"), f"{name} has no base_url"
        assert limits, f"{name} has no documented rate limits"
        assert oauth.get("authorize_url") or auth_type != "oauth2", name
        assert hooks and events, f"{name} lists no webhook events"
    assert vector == ("vector(384)",)


def test_downgrade_removes_everything_and_upgrade_works_again(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) == set()
    with psycopg.connect(empty_database_url) as conn:
        leftover = conn.execute("SELECT 1 FROM pg_type WHERE typname = 'user_role'").fetchall()
    assert leftover == []
    upgrade(empty_database_url)
    assert "integrations" in _tables(empty_database_url)


def test_the_migrations_build_exactly_the_models(empty_database_url: str) -> None:
    """A model changed without a migration (or the reverse) shows up here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from store.models import Base

    upgrade(empty_database_url)
    engine = create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert drift == []


def test_an_installation_with_flows_and_runs_upgrades_in_place(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0001")
    with psycopg.connect(empty_database_url) as conn:
        tenant = conn.execute("INSERT INTO tenants (id, name, slug, created_at, updated_at) "
                              "VALUES (gen_random_uuid(), 'A', 'a', now(), now()) "
                              "RETURNING id").fetchone()[0]
        provider = conn.execute("SELECT id FROM integration_providers LIMIT 1").fetchone()[0]
        integration = conn.execute(
            "INSERT INTO integrations (id, tenant_id, provider_id, name, status, settings, "
            "sync_config, health_score, api_calls_today, api_calls_limit, created_at, "
            "updated_at) VALUES (gen_random_uuid(), %s, %s, 'i', 'active', '{}', '{}', 100, "
            "0, 0, now(), now()) RETURNING id", (tenant, provider)).fetchone()[0]
        flow = conn.execute(
            "INSERT INTO data_flows (id, tenant_id, integration_id, name, direction, status, "
            "source_fields, target_fields, transformation_rules, sync_frequency, cursor, "
            "records_processed, records_failed, created_at, updated_at) VALUES "
            "(gen_random_uuid(), %s, %s, 'f', 'inbound', 'active', '[]', '[]', '{}', "
            "'daily', '{}', 0, 0, now(), now()) RETURNING id",
            (tenant, integration)).fetchone()[0]
        conn.execute(
            "INSERT INTO sync_runs (id, tenant_id, data_flow_id, status, trigger, started_at, "
            "records_read, records_written, records_failed, cursor_before, cursor_after) "
            "VALUES (gen_random_uuid(), %s, %s, 'succeeded', 'manual', now(), 1, 1, 0, "
            "'{}', '{}')", (tenant, flow))
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        mappings, schedule = conn.execute(
            "SELECT mappings, schedule FROM data_flows").fetchone()
        unchanged, checkpoint = conn.execute(
            "SELECT records_unchanged, checkpoint FROM sync_runs").fetchone()
    assert (mappings, schedule, unchanged, checkpoint) == ([], {}, 0, {})
