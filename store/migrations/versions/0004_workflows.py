"""Workflows: a run per (workflow, event) and per (workflow, trigger key), made certain by
unique constraints; an index from (tenant, integration, trigger event) to workflows; run
leases, inputs and context; schedule and condition trigger state; the Connectus CRM store
(crm_contacts); the workflow dead-letter list.

Columns added to tables that may hold rows get server defaults (or are filled here), so
an existing installation upgrades in place: events stored before this revision count as
dispatched, and webhook workflows get their trigger event copied out of trigger_config.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:45:55.900754
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('crm_contacts',
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('first_name', sa.String(length=200), nullable=True),
    sa.Column('last_name', sa.String(length=200), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_contacts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_contacts')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_crm_contacts_tenant_id'))
    )
    op.create_index(op.f('ix_crm_contacts_tenant_id'), 'crm_contacts', ['tenant_id'], unique=False)
    op.create_table('workflow_dead_letters',
    sa.Column('webhook_event_id', sa.UUID(), nullable=False),
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('runs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_workflow_dead_letters_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_dead_letters_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_event_id'], ['webhook_events.id'], name=op.f('fk_workflow_dead_letters_webhook_event_id_webhook_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_dead_letters')),
    sa.UniqueConstraint('webhook_event_id', name=op.f('uq_workflow_dead_letters_webhook_event_id'))
    )
    op.create_index(op.f('ix_workflow_dead_letters_integration_id'), 'workflow_dead_letters', ['integration_id'], unique=False)
    op.create_index(op.f('ix_workflow_dead_letters_tenant_id'), 'workflow_dead_letters', ['tenant_id'], unique=False)
    op.add_column('webhook_events', sa.Column('workflows_dispatched_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE webhook_events SET workflows_dispatched_at = received_at")
    op.create_index('ix_webhook_events_undispatched', 'webhook_events', ['received_at'], unique=False, postgresql_where=sa.text('workflows_dispatched_at IS NULL'))
    op.add_column('workflow_automations', sa.Column('trigger_event', sa.String(length=100), nullable=True))
    op.add_column('workflow_automations', sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('workflow_automations', sa.Column('trigger_state', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.execute("UPDATE workflow_automations SET trigger_event = left(trigger_config->>'event', 100) "
               "WHERE trigger_type = 'webhook'")
    op.add_column('workflow_automations', sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_workflow_automations_due', 'workflow_automations', ['next_run_at'], unique=False, postgresql_where=sa.text('next_run_at IS NOT NULL'))
    op.create_index('ix_workflow_automations_trigger', 'workflow_automations', ['tenant_id', 'integration_id', 'trigger_event'], unique=False)
    op.add_column('workflow_runs', sa.Column('trigger', sa.String(length=20), nullable=False,
              server_default='webhook'))
    op.add_column('workflow_runs', sa.Column('trigger_key', sa.String(length=200), nullable=True))
    op.add_column('workflow_runs', sa.Column('input', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('workflow_runs', sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
              server_default=sa.text("'{}'::jsonb")))
    op.add_column('workflow_runs', sa.Column('replay_of', sa.UUID(), nullable=True))
    op.add_column('workflow_runs', sa.Column('lease_owner', sa.String(length=100), nullable=True))
    op.add_column('workflow_runs', sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_workflow_runs_open', 'workflow_runs', ['status', 'lease_expires_at'], unique=False, postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index(op.f('ix_workflow_runs_replay_of'), 'workflow_runs', ['replay_of'], unique=False)
    op.create_unique_constraint('uq_workflow_runs_trigger_key', 'workflow_runs', ['workflow_id', 'trigger_key'])
    op.create_unique_constraint(op.f('uq_workflow_runs_workflow_id'), 'workflow_runs', ['workflow_id', 'webhook_event_id'])
    op.create_foreign_key(op.f('fk_workflow_runs_replay_of_workflow_runs'), 'workflow_runs', 'workflow_runs', ['replay_of'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_workflow_runs_replay_of_workflow_runs'), 'workflow_runs', type_='foreignkey')
    op.drop_constraint(op.f('uq_workflow_runs_workflow_id'), 'workflow_runs', type_='unique')
    op.drop_constraint('uq_workflow_runs_trigger_key', 'workflow_runs', type_='unique')
    op.drop_index(op.f('ix_workflow_runs_replay_of'), table_name='workflow_runs')
    op.drop_index('ix_workflow_runs_open', table_name='workflow_runs', postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_column('workflow_runs', 'lease_expires_at')
    op.drop_column('workflow_runs', 'lease_owner')
    op.drop_column('workflow_runs', 'replay_of')
    op.drop_column('workflow_runs', 'context')
    op.drop_column('workflow_runs', 'input')
    op.drop_column('workflow_runs', 'trigger_key')
    op.drop_column('workflow_runs', 'trigger')
    op.drop_index('ix_workflow_automations_trigger', table_name='workflow_automations')
    op.drop_index('ix_workflow_automations_due', table_name='workflow_automations', postgresql_where=sa.text('next_run_at IS NOT NULL'))
    op.drop_column('workflow_automations', 'last_run_at')
    op.drop_column('workflow_automations', 'trigger_state')
    op.drop_column('workflow_automations', 'next_run_at')
    op.drop_column('workflow_automations', 'trigger_event')
    op.drop_index('ix_webhook_events_undispatched', table_name='webhook_events', postgresql_where=sa.text('workflows_dispatched_at IS NULL'))
    op.drop_column('webhook_events', 'workflows_dispatched_at')
    op.drop_index(op.f('ix_workflow_dead_letters_tenant_id'), table_name='workflow_dead_letters')
    op.drop_index(op.f('ix_workflow_dead_letters_integration_id'), table_name='workflow_dead_letters')
    op.drop_table('workflow_dead_letters')
    op.drop_index(op.f('ix_crm_contacts_tenant_id'), table_name='crm_contacts')
    op.drop_table('crm_contacts')
