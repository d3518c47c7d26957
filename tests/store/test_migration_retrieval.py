"""Migration 0008 on an installation that already has health logs and insights: their old
embeddings are cleared for the cron to recompute, full text is filled in place, and a
text that changes loses its embedding."""

from __future__ import annotations

import psycopg

from store.migrate import upgrade


def test_an_installation_with_logs_and_insights_upgrades_in_place(
        empty_database_url: str) -> None:
    upgrade(empty_database_url, "0004")
    old = "[" + ",".join(["0.1"] * 384) + "]"
    with psycopg.connect(empty_database_url) as conn:
        tenant = conn.execute("INSERT INTO tenants (id, name, slug, created_at, updated_at) "
                              "VALUES (gen_random_uuid(), 'A', 'a', now(), now()) "
                              "RETURNING id").fetchone()[0]
        conn.execute(
            "INSERT INTO health_logs (id, tenant_id, severity, category, message, details, "
            "embedding, created_at) VALUES (gen_random_uuid(), %s, 'error', 'auth', "
            "'Salesforce refresh token rejected', '{}', %s, now())", (tenant, old))
        conn.execute(
            "INSERT INTO connectus_insights (id, tenant_id, insight_type, priority, title, "
            "description, recommendation, action_items, is_read, is_resolved, fingerprint, "
            "embedding, created_at) VALUES (gen_random_uuid(), %s, 'warning', 'high', "
            "'Quota runs out', 'At 16:00 UTC', 'Sync less often', '[]', false, false, 'q', "
            "%s, now())", (tenant, old))
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        logs = conn.execute("SELECT embedding IS NULL, search_vector @@ "
                            "plainto_tsquery('english', 'tokens rejected') FROM health_logs"
                            ).fetchone()
        insights = conn.execute("SELECT embedding IS NULL, search_vector @@ "
                                "plainto_tsquery('english', 'sync quota') "
                                "FROM connectus_insights").fetchone()
        conn.execute("UPDATE health_logs SET embedding = %s", (old,))
        conn.execute("UPDATE health_logs SET resolution = 'reconnected'")
        kept = conn.execute("SELECT embedding IS NOT NULL FROM health_logs").fetchone()
        conn.execute("UPDATE connectus_insights SET embedding = %s", (old,))
        conn.execute("UPDATE connectus_insights SET description = 'At 18:00 UTC'")
        cleared = conn.execute("SELECT embedding IS NULL FROM connectus_insights").fetchone()
    assert logs == (True, True) and insights == (True, True)
    assert kept == (True,) and cleared == (True,)
