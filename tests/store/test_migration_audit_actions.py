"""Revision 0020 renames the audit log's old ``sync_now`` entries to
``integration.sync_now`` in place, so the filter by object finds the old ones too."""

import uuid

import psycopg

from store.migrate import downgrade, upgrade


def test_old_sync_now_entries_are_renamed_and_back(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0017")
    tenant = uuid.uuid4()
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Old', 'old')", (tenant,))
        for action in ("sync_now", "integration.update"):
            conn.execute(
                "INSERT INTO audit_logs (id, tenant_id, action, target_type, details, "
                "created_at) VALUES (%s, %s, %s, 'integration', '{}', now())",
                (uuid.uuid4(), tenant, action))
    upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        actions = {row[0] for row in conn.execute("SELECT action FROM audit_logs")}
    assert actions == {"integration.sync_now", "integration.update"}
    downgrade(empty_database_url, "0017")
    with psycopg.connect(empty_database_url) as conn:
        actions = {row[0] for row in conn.execute("SELECT action FROM audit_logs")}
    assert actions == {"sync_now", "integration.update"}
