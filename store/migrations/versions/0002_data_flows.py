"""Data flows: mappings, schedule, contract; sync leases and checkpoints; dead letters, conflicts.

Columns added to tables that may hold rows get server defaults, so an existing
installation upgrades in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:53:44.888874
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_conflicts',
    sa.Column('data_flow_id', sa.UUID(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('local', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('remote', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['data_flow_id'], ['data_flows.id'], name=op.f('fk_sync_conflicts_data_flow_id_data_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_conflicts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )
    op.create_index(op.f('ix_sync_conflicts_data_flow_id'), 'sync_conflicts', ['data_flow_id'], unique=False)
    op.create_index(op.f('ix_sync_conflicts_tenant_id'), 'sync_conflicts', ['tenant_id'], unique=False)
    op.create_table('dead_letters',
    sa.Column('data_flow_id', sa.UUID(), nullable=False),
    sa.Column('sync_run_id', sa.UUID(), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('record', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('errors', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['data_flow_id'], ['data_flows.id'], name=op.f('fk_dead_letters_data_flow_id_data_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_dead_letters_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dead_letters_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    op.create_index(op.f('ix_dead_letters_data_flow_id'), 'dead_letters', ['data_flow_id'], unique=False)
    op.create_index(op.f('ix_dead_letters_sync_run_id'), 'dead_letters', ['sync_run_id'], unique=False)
    op.create_index(op.f('ix_dead_letters_tenant_id'), 'dead_letters', ['tenant_id'], unique=False)
    op.add_column('data_flows', sa.Column('mappings', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'[]'::jsonb")))
    op.add_column('data_flows', sa.Column('schedule', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('data_flows', sa.Column('contract', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('data_flows', sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('data_flows', sa.Column('last_run_id', sa.UUID(), nullable=True))
    op.create_index(op.f('ix_data_flows_next_run_at'), 'data_flows', ['next_run_at'], unique=False)
    op.add_column('sync_runs', sa.Column('records_unchanged', sa.BigInteger(), nullable=False,
              server_default='0'))
    op.add_column('sync_runs', sa.Column('records_deleted', sa.BigInteger(), nullable=False,
              server_default='0'))
    op.add_column('sync_runs', sa.Column('checkpoint', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('sync_runs', sa.Column('lease_owner', sa.String(length=100), nullable=True))
    op.add_column('sync_runs', sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('sync_runs', sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.create_index('uq_sync_runs_one_active', 'sync_runs', ['data_flow_id'], unique=True, postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.add_column('synced_records', sa.Column('content_hash', sa.String(length=64), nullable=True))
    op.add_column('synced_records', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('synced_records', sa.Column('origin', sa.String(length=20), nullable=False,
              server_default='provider'))
    op.add_column('synced_records', sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()))


def downgrade() -> None:
    op.drop_column('synced_records', 'changed_at')
    op.drop_column('synced_records', 'origin')
    op.drop_column('synced_records', 'deleted_at')
    op.drop_column('synced_records', 'content_hash')
    op.drop_index('uq_sync_runs_one_active', table_name='sync_runs', postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_column('sync_runs', 'summary')
    op.drop_column('sync_runs', 'lease_expires_at')
    op.drop_column('sync_runs', 'lease_owner')
    op.drop_column('sync_runs', 'checkpoint')
    op.drop_column('sync_runs', 'records_deleted')
    op.drop_column('sync_runs', 'records_unchanged')
    op.drop_index(op.f('ix_data_flows_next_run_at'), table_name='data_flows')
    op.drop_column('data_flows', 'last_run_id')
    op.drop_column('data_flows', 'next_run_at')
    op.drop_column('data_flows', 'contract')
    op.drop_column('data_flows', 'schedule')
    op.drop_column('data_flows', 'mappings')
    op.drop_index(op.f('ix_dead_letters_tenant_id'), table_name='dead_letters')
    op.drop_index(op.f('ix_dead_letters_sync_run_id'), table_name='dead_letters')
    op.drop_index(op.f('ix_dead_letters_data_flow_id'), table_name='dead_letters')
    op.drop_table('dead_letters')
    op.drop_index(op.f('ix_sync_conflicts_tenant_id'), table_name='sync_conflicts')
    op.drop_index(op.f('ix_sync_conflicts_data_flow_id'), table_name='sync_conflicts')
    op.drop_table('sync_conflicts')
