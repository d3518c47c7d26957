"""A workflow run's life in the database: claimed under a lease, saved after every step,
held while it waits (a retry's backoff, a delay), finished once.

Every write after the claim is conditional on the lease (``lease_owner``), so a worker
that lost its run to another (its lease lapsed) finds out at its next write and stops.
Finishing is conditional on the run still running, and bumps the workflow's
``execution_count`` and ``success_count`` in the same transaction with
``x = x + n``: exact however many workers finish runs at once, and a run counts once.
The claim, the saves and the end are coalesced with the other runs' of this process
(run_writes.py): the same conditions, checked per row, in one statement per moment.
"""

from __future__ import annotations

import uuid
import weakref
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from jobs.workflows.run_writes import Claim, End, Save, writes_for
from store.db import Database
from store.direct import json_text
from store.models import WorkflowRun
from store.models.base import utcnow

FINAL = ("succeeded", "failed", "skipped")
COUNTED = ("succeeded", "failed")


# the context as this worker last wrote it, per run: a save or an end that would write the
# same JSON again (a run's record and actions, unchanged from step to step) leaves the
# column alone instead, so PostgreSQL neither parses nor rewrites it
_written: weakref.WeakKeyDictionary[WorkflowRun, str] = weakref.WeakKeyDictionary()


def _context(run: WorkflowRun) -> tuple[str, dict[str, Any] | None]:
    """The context's JSON, and what to write: None when the row holds it already."""
    text = json_text(run.context)
    return text, None if _written.get(run) == text else run.context


class LeaseLost(Exception):  # a signal, not an error a person sees
    """Another worker took the run over: this one stops without writing."""


async def claim(db: Database, run_id: uuid.UUID, *, owner: str,
                lease_s: float) -> WorkflowRun | None:
    """Take a queued run, or a running one whose lease lapsed (its worker died, or its wait
    is over); None when another worker holds it, it has ended or it is gone. A job carries
    ids only, never a tenant to trust: the run is found by its id alone, and everything
    after this runs in the tenant the run's row names. Claimed with the other runs this
    process claims at the same moment, in one statement (run_writes.py)."""
    return await writes_for(db).claims.submit(Claim(run_id, owner, lease_s))


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
    """Steps and context as they are now; the lease renewed once half of it has gone."""
    text, changed = _context(run)
    now = utcnow()
    saved = await writes_for(db).saves.submit(Save(
        run.tenant_id, run.id, owner, list(run.steps), changed,
        now + timedelta(seconds=lease_s), now + timedelta(seconds=lease_s / 2)))
    if not saved:
        raise LeaseLost(str(run.id))
    _written[run] = text


async def hold(db: Database, run: WorkflowRun, owner: str, until: datetime) -> None:
    """Give the run up until ``until`` (a retry's backoff, a delay): nobody takes it sooner,
    then its deferred job (or the sweep, should that job be lost) does."""
    await _write(db, run, owner, steps=list(run.steps), context=dict(run.context),
                 lease_owner=None, lease_expires_at=until)


async def finish(db: Database, run: WorkflowRun, owner: str, status: str,
                 error: str | None = None) -> bool:
    """End the run once, counted in the same transaction; False when it was not this
    worker's to end."""
    assert status in FINAL
    now = await writes_for(db).ends.submit(End(
        run.tenant_id, run.id, owner, status, error, list(run.steps), _context(run)[1]))
    if now is None:
        return False
    run.status, run.error, run.finished_at = status, error, now
    return True


async def load(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID) -> WorkflowRun | None:
    async with db.session(tenant_id) as session:
        found: WorkflowRun | None = await session.get(WorkflowRun, run_id)
    return found
