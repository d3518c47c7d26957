"""Insight jobs: each insight remembers its detector, its numbers and the life of its
condition (opened, last seen, resolved and by whom, times opened, the Slack warning of
this opening); a tenant's insight settings (frequency advice applied automatically,
Slack warnings).

Added columns have server defaults, so insights stored before this revision upgrade in
place: they count as opened when they were created.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = 'connectus_insights'


def upgrade() -> None:
    op.add_column(TABLE, sa.Column('detector', sa.String(length=40), server_default='',
                                   nullable=False))
    op.add_column(TABLE, sa.Column('details', postgresql.JSONB(astext_type=sa.Text()),
                                   server_default='{}', nullable=False))
    op.add_column(TABLE, sa.Column('opened_at', sa.DateTime(timezone=True),
                                   server_default=sa.text('now()'), nullable=False))
    op.add_column(TABLE, sa.Column('last_seen_at', sa.DateTime(timezone=True),
                                   server_default=sa.text('now()'), nullable=False))
    op.add_column(TABLE, sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column(TABLE, sa.Column('resolved_by', sa.String(length=20), nullable=True))
    op.add_column(TABLE, sa.Column('times_opened', sa.Integer(), server_default='1',
                                   nullable=False))
    op.add_column(TABLE, sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE connectus_insights SET opened_at = created_at, last_seen_at = created_at")
    op.create_table('insight_settings',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('auto_tune_frequency', sa.Boolean(), nullable=False),
    sa.Column('slack_warnings', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_insight_settings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_settings')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_insight_settings_tenant_id'))
    )
    op.create_index(op.f('ix_insight_settings_tenant_id'), 'insight_settings', ['tenant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_insight_settings_tenant_id'), table_name='insight_settings')
    op.drop_table('insight_settings')
    for column in ('notified_at', 'times_opened', 'resolved_by', 'resolved_at',
                   'last_seen_at', 'opened_at', 'details', 'detector'):
        op.drop_column(TABLE, column)
