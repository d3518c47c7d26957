"""Revision 0007 upgrades an installation with insights in place: each counts as opened
when it was created, once, and is unread and open as before."""

import psycopg

from store.migrate import upgrade


def test_insights_stored_before_0007_upgrade_in_place(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0004")
    with psycopg.connect(empty_database_url) as conn:
        tenant = conn.execute("INSERT INTO tenants (id, name, slug, created_at, updated_at) "
                              "VALUES (gen_random_uuid(), 'A', 'a', now(), now()) "
                              "RETURNING id").fetchone()[0]
        conn.execute(
            "INSERT INTO connectus_insights (id, tenant_id, insight_type, priority, title, "
            "description, recommendation, action_items, is_read, is_resolved, fingerprint, "
            "created_at) VALUES (gen_random_uuid(), %s, 'warning', 'high', 't', 'd', 'r', "
            "'[]', false, false, 'f', '2026-11-01T00:00:00Z')", (tenant,))
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        row = conn.execute(
            "SELECT opened_at = created_at, last_seen_at = created_at, times_opened, "
            "detector, details, is_resolved, notified_at FROM connectus_insights").fetchone()
        settings = conn.execute("SELECT count(*) FROM insight_settings").fetchone()[0]
    assert row == (True, True, 1, "", {}, False, None)
    assert settings == 0
