"""The agent: writes waiting for a confirmation (and their inverses, for undo), the
tenant's confirmation thresholds. The LangGraph checkpointer's tables (the threads)
are its own, made by its own migrations when the agent first runs (agent/checkpoints.py).

Only new tables, so an existing installation upgrades in place.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agent_confirmations',
    sa.Column('user_id', sa.UUID(), nullable=True),
    sa.Column('thread_id', sa.String(length=100), nullable=False),
    sa.Column('tool_call_id', sa.String(length=200), nullable=False),
    sa.Column('tool', sa.String(length=100), nullable=False),
    sa.Column('args', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('preview', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('needs_role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('inverse', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('decided_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undo_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                            name=op.f('fk_agent_confirmations_decided_by_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                            name=op.f('fk_agent_confirmations_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_agent_confirmations_user_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_confirmations')),
    sa.UniqueConstraint('tenant_id', 'thread_id', 'tool_call_id',
                        name=op.f('uq_agent_confirmations_tenant_id')))
    op.create_index(op.f('ix_agent_confirmations_tenant_id'), 'agent_confirmations',
                    ['tenant_id'], unique=False)
    op.create_index(op.f('ix_agent_confirmations_thread_id'), 'agent_confirmations',
                    ['thread_id'], unique=False)
    op.create_table('agent_policies',
    sa.Column('admin_above_records', sa.Integer(), nullable=False),
    sa.Column('admin_above_quota_share', sa.Float(), nullable=False),
    sa.Column('undo_window_s', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                            name=op.f('fk_agent_policies_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_policies')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_agent_policies_tenant_id')))
    op.create_index(op.f('ix_agent_policies_tenant_id'), 'agent_policies', ['tenant_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_agent_policies_tenant_id'), table_name='agent_policies')
    op.drop_table('agent_policies')
    op.drop_index(op.f('ix_agent_confirmations_thread_id'), table_name='agent_confirmations')
    op.drop_index(op.f('ix_agent_confirmations_tenant_id'), table_name='agent_confirmations')
    op.drop_table('agent_confirmations')
