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
