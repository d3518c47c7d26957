"""synced_records loses its index on tenant_id alone: the unique constraint on (tenant_id,
data_flow_id, external_id) leads with it and serves every read it did (a tenant's rows, the
tenant's cascade), and every synced row paid one more index write for it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_synced_records_tenant_id', table_name='synced_records')


def downgrade() -> None:
    op.create_index('ix_synced_records_tenant_id', 'synced_records', ['tenant_id'], unique=False)
