"""Health over time: each integration's score through each UTC day (the latest and the
lowest of the day's refreshes), written by the health refresh, read by the dashboard's
chart and the health history.

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-02 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = 'health_days'


def upgrade() -> None:
    op.create_table(TABLE,
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('lowest', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_health_days_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_health_days_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_days')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'day', name=op.f('uq_health_days_tenant_id'))
    )
    op.create_index(op.f('ix_health_days_integration_id'), TABLE, ['integration_id'], unique=False)
    op.create_index(op.f('ix_health_days_tenant_id'), TABLE, ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_health_days_tenant_id'), table_name=TABLE)
    op.drop_index(op.f('ix_health_days_integration_id'), table_name=TABLE)
    op.drop_table(TABLE)
