"""The audit action of "sync now" is named under its target, as every other action is
(``integration.sync_now``, was ``sync_now``), so the audit log's ``action=integration``
prefix filter finds it; earlier entries are renamed with it.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-02 13:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE audit_logs SET action = 'integration.sync_now' WHERE action = 'sync_now'")


def downgrade() -> None:
    op.execute("UPDATE audit_logs SET action = 'sync_now' WHERE action = 'integration.sync_now'")
