"""workflow_runs: no index on workflow_id alone (the unique (workflow_id, webhook_event_id)
leads with it and serves its reads and the workflow's cascade), and a fillfactor of 70, so
that a run's save, which changes no indexed column, can be a HOT update in its own page
instead of a new entry in each of the table's indexes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_workflow_runs_workflow_id', table_name='workflow_runs')
    op.execute("ALTER TABLE workflow_runs SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE workflow_runs RESET (fillfactor)")
    op.create_index('ix_workflow_runs_workflow_id', 'workflow_runs', ['workflow_id'],
                    unique=False)
