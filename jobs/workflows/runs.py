"""A workflow run's life in the database: claimed under a lease, saved after every step,
held while it waits (a retry's backoff, a delay), finished once.

Every write after the claim is conditional on the lease (``lease_owner``), so a worker
that lost its run to another (its lease lapsed) finds out at its next write and stops.
Finishing is conditional on the run still running, and bumps the workflow's
``execution_count`` and ``success_count`` in the same transaction with
``x = x + 1``: exact however many workers finish runs at once, and a run counts once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update

from store.db import Database
from store.models import WorkflowAutomation, WorkflowRun
from store.models.base import utcnow

FINAL = ("succeeded", "failed", "skipped")
COUNTED = ("succeeded", "failed")


class LeaseLost(Exception):  # a signal, not an error a person sees
    """Another worker took the run over: this one stops without writing."""


async def claim(db: Database, run_id: uuid.UUID, *, owner: str,
                lease_s: float) -> WorkflowRun | None:
    """Take a queued run, or a running one whose lease lapsed (its worker died, or its wait
    is over); None when another worker holds it, it has ended or it is gone. A job carries
    ids only, never a tenant to trust: the run is found by its id alone, and everything
    after this runs in the tenant the run's row names."""
    now = utcnow()
    takeable = or_(WorkflowRun.status == "queued",
                   and_(WorkflowRun.status == "running",
                        or_(WorkflowRun.lease_expires_at.is_(None),
                            WorkflowRun.lease_expires_at < now)))
    async with db.transaction(None) as session:
        found = (await session.scalars(
            update(WorkflowRun).where(WorkflowRun.id == run_id, takeable)
            .values(status="running", lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s))
            .returning(WorkflowRun), execution_options={"synchronize_session": False})).first()
    return found


async def _write(db: Database, run: WorkflowRun, owner: str, **values: Any) -> None:
    async with db.transaction(run.tenant_id) as session:
        done = (await session.execute(
            update(WorkflowRun).where(WorkflowRun.id == run.id,
                                      WorkflowRun.lease_owner == owner,
                                      WorkflowRun.status == "running")
            .values(**values).returning(WorkflowRun.id),
            execution_options={"synchronize_session": False})).first()
    if done is None:
        raise LeaseLost(str(run.id))


async def save(db: Database, run: WorkflowRun, owner: str, lease_s: float) -> None:
    """Steps and context as they are now; the lease renewed."""
    await _write(db, run, owner, steps=list(run.steps), context=dict(run.context),
                 lease_expires_at=utcnow() + timedelta(seconds=lease_s))


async def hold(db: Database, run: WorkflowRun, owner: str, until: datetime) -> None:
    """Give the run up until ``until`` (a retry's backoff, a delay): nobody takes it sooner,
    then its deferred job (or the sweep, should that job be lost) does."""
    await _write(db, run, owner, steps=list(run.steps), context=dict(run.context),
                 lease_owner=None, lease_expires_at=until)


async def finish(db: Database, run: WorkflowRun, owner: str, status: str,
                 error: str | None = None) -> bool:
    """End the run once; False when it was not this worker's to end."""
    assert status in FINAL
    now = utcnow()
    async with db.transaction(run.tenant_id) as session:
        done = (await session.execute(
            update(WorkflowRun).where(WorkflowRun.id == run.id,
                                      WorkflowRun.lease_owner == owner,
                                      WorkflowRun.status == "running")
            .values(status=status, error=error, finished_at=now, steps=list(run.steps),
                    context=dict(run.context), lease_owner=None, lease_expires_at=None)
            .returning(WorkflowRun.id), execution_options={"synchronize_session": False})
        ).first()
        if done is None:
            return False
        # updated_at says when the workflow was last changed, not last run
        counts: dict[str, Any] = {"last_run_at": now,
                                  "updated_at": WorkflowAutomation.updated_at}
        if status in COUNTED:
            counts["execution_count"] = WorkflowAutomation.execution_count + 1
            if status == "succeeded":
                counts["success_count"] = WorkflowAutomation.success_count + 1
        await session.execute(
            update(WorkflowAutomation).where(WorkflowAutomation.id == run.workflow_id)
            .values(**counts), execution_options={"synchronize_session": False})
    run.status, run.error, run.finished_at = status, error, now
    return True


async def load(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID) -> WorkflowRun | None:
    async with db.session(tenant_id) as session:
        found: WorkflowRun | None = await session.get(WorkflowRun, run_id)
    return found
