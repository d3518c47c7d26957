"""Health and usage: an integration's score keeps its reasons and when it was worked out;
a health log remembers who resolved it; API usage counts what a call cost against the
provider's quota (``operations``: a Google Ads mutate counts each operation) and what
the provider itself last reported (its count and limit).

Columns added to tables that may hold rows get server defaults (or are filled here), so
an existing installation upgrades in place: usage rows stored before this revision cost
one operation a call.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 02:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('integrations', sa.Column(
        'health_reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
        server_default=sa.text("'[]'::jsonb")))
    op.add_column('integrations', sa.Column(
        'health_checked_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('integrations', sa.Column(
        'usage_reported', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
        server_default=sa.text("'{}'::jsonb")))
    op.add_column('health_logs', sa.Column('resolved_by', sa.UUID(), nullable=True))
    op.create_foreign_key('fk_health_logs_resolved_by', 'health_logs', 'users',
                          ['resolved_by'], ['id'], ondelete='SET NULL')
    op.create_index('ix_health_logs_tenant_open', 'health_logs',
                    ['tenant_id', 'created_at'],
                    postgresql_where=sa.text('resolved_at IS NULL'))
    op.add_column('api_usage', sa.Column('operations', sa.Integer(), nullable=False,
                                         server_default='0'))
    op.execute('UPDATE api_usage SET operations = calls')


def downgrade() -> None:
    op.drop_column('api_usage', 'operations')
    op.drop_index('ix_health_logs_tenant_open', table_name='health_logs')
    op.drop_constraint('fk_health_logs_resolved_by', 'health_logs', type_='foreignkey')
    op.drop_column('health_logs', 'resolved_by')
    op.drop_column('integrations', 'usage_reported')
    op.drop_column('integrations', 'health_checked_at')
    op.drop_column('integrations', 'health_reasons')
