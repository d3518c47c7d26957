"""Fewer index entries a webhook run writes: workflow_runs' trigger-key and replay indexes
partial (a webhook run has neither, so none of its three row versions is in them), and
no index on tenant_id alone where a unique index leads with it (webhook_events,
crm_contacts) or where no read wants it (workflow_runs: its reads name a workflow).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint('uq_workflow_runs_trigger_key', 'workflow_runs', type_='unique')
    op.create_index('uq_workflow_runs_trigger_key', 'workflow_runs',
                    ['workflow_id', 'trigger_key'], unique=True,
                    postgresql_where=sa.text('trigger_key IS NOT NULL'))
    op.drop_index('ix_workflow_runs_replay_of', table_name='workflow_runs')
    op.create_index('ix_workflow_runs_replay_of', 'workflow_runs', ['replay_of'],
                    postgresql_where=sa.text('replay_of IS NOT NULL'))
    op.drop_index('ix_workflow_runs_tenant_id', table_name='workflow_runs')
    op.drop_index('ix_webhook_events_tenant_id', table_name='webhook_events')
    op.drop_index('ix_crm_contacts_tenant_id', table_name='crm_contacts')


def downgrade() -> None:
    op.create_index('ix_crm_contacts_tenant_id', 'crm_contacts', ['tenant_id'])
    op.create_index('ix_webhook_events_tenant_id', 'webhook_events', ['tenant_id'])
    op.create_index('ix_workflow_runs_tenant_id', 'workflow_runs', ['tenant_id'])
    op.drop_index('ix_workflow_runs_replay_of', table_name='workflow_runs')
    op.create_index('ix_workflow_runs_replay_of', 'workflow_runs', ['replay_of'])
    op.drop_index('uq_workflow_runs_trigger_key', table_name='workflow_runs')
    op.create_unique_constraint('uq_workflow_runs_trigger_key', 'workflow_runs',
                                ['workflow_id', 'trigger_key'])
