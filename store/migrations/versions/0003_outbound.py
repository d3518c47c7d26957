"""Outbound and both-ways flows: what was last agreed with the provider, per record; who
owns each field; one open conflict per record, with the run that found it.

``synced_records`` learns the provider's id of a record (``remote_id``), the values both
sides last agreed on (``base`` in Connectus's names, ``remote_base`` in the provider's),
the hash of that agreed version (``pushed_hash``: a row is waiting to be written while
its ``content_hash`` differs), the hash of a version the provider refused
(``rejected_hash``: not sent again until it changes), and when Connectus last wrote it
and last changed it locally. Every new column is nullable or has a server default, so an
existing installation upgrades in place and its inbound rows are left as they were.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 09:12:05.114204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TO_PUSH = "origin = 'connectus' AND content_hash IS DISTINCT FROM pushed_hash"


def upgrade() -> None:
    op.add_column('data_flows', sa.Column('conflict_policy', sa.String(length=20), nullable=False,
              server_default='owner'))
    op.add_column('data_flows', sa.Column('field_owners', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('synced_records', sa.Column('remote_id', sa.String(length=200), nullable=True))
    op.add_column('synced_records', sa.Column('base', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('synced_records', sa.Column('remote_base', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('synced_records', sa.Column('pushed_hash', sa.String(length=64), nullable=True))
    op.add_column('synced_records', sa.Column('rejected_hash', sa.String(length=64), nullable=True))
    op.add_column('synced_records', sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('synced_records', sa.Column('local_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_synced_records_to_push', 'synced_records', ['data_flow_id', 'id'], unique=False,
                    postgresql_where=sa.text(TO_PUSH))
    op.create_index('ix_synced_records_remote_id', 'synced_records', ['data_flow_id', 'remote_id'], unique=False,
                    postgresql_where=sa.text('remote_id IS NOT NULL'))
    op.add_column('sync_conflicts', sa.Column('base', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('sync_conflicts', sa.Column('sync_run_id', sa.UUID(), nullable=True))
    op.add_column('sync_conflicts', sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(op.f('fk_sync_conflicts_sync_run_id_sync_runs'), 'sync_conflicts', 'sync_runs',
                          ['sync_run_id'], ['id'], ondelete='SET NULL')
    op.create_index(op.f('ix_sync_conflicts_sync_run_id'), 'sync_conflicts', ['sync_run_id'], unique=False)
    op.create_index('uq_sync_conflicts_one_open', 'sync_conflicts', ['data_flow_id', 'external_id'],
                    unique=True, postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('uq_sync_conflicts_one_open', table_name='sync_conflicts',
                  postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f('ix_sync_conflicts_sync_run_id'), table_name='sync_conflicts')
    op.drop_constraint(op.f('fk_sync_conflicts_sync_run_id_sync_runs'), 'sync_conflicts', type_='foreignkey')
    op.drop_column('sync_conflicts', 'updated_at')
    op.drop_column('sync_conflicts', 'sync_run_id')
    op.drop_column('sync_conflicts', 'base')
    op.drop_index('ix_synced_records_remote_id', table_name='synced_records',
                  postgresql_where=sa.text('remote_id IS NOT NULL'))
    op.drop_index('ix_synced_records_to_push', table_name='synced_records',
                  postgresql_where=sa.text(TO_PUSH))
    op.drop_column('synced_records', 'local_changed_at')
    op.drop_column('synced_records', 'pushed_at')
    op.drop_column('synced_records', 'rejected_hash')
    op.drop_column('synced_records', 'pushed_hash')
    op.drop_column('synced_records', 'remote_base')
    op.drop_column('synced_records', 'base')
    op.drop_column('synced_records', 'remote_id')
    op.drop_column('data_flows', 'field_owners')
    op.drop_column('data_flows', 'conflict_policy')
