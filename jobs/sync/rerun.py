"""Re-running a sync run that did not end well (issue 7 §7).

Only a ``failed``, ``partial`` or ``cancelled`` sync can be re-run, as a new run (trigger
``rerun``, its summary naming the run it repeats) queued for the workers, the flow's
lock permitting (409 while another run is open):

- **from start**: a full re-read of the stream, with no delta cursor, whatever the failed
  run started from. Unchanged records are skipped by their content hash, so it costs
  reads, not writes.
- **from checkpoint**: the failed run's own delta cursor and its last committed batch,
  so the new run asks the provider for exactly the page after it. A run that had read
  its last page has nothing left to resume: re-run it from start.

The old run is left as it ended, with ``rerun_as`` in its summary.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jobs.sync import runs
from store.db import Database
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import DataFlow, SyncRun

TRIGGER = "rerun"
RERUNNABLE = ("failed", "partial", "cancelled")
From = Literal["start", "checkpoint"]


async def rerun(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID,
                start: From) -> tuple[SyncRun, SyncRun]:
    """(the new queued run, the run it repeats)."""
    async with db.transaction(tenant_id) as session:
        old = await session.get(SyncRun, run_id)
        if old is None:
            raise NotFound(f"no sync run {run_id}")
        if old.trigger in runs.UPKEEP:
            raise ValidationFailed(f"run {run_id} is a {old.trigger} run, not a sync; it runs "
                                   "again on its own schedule", field="run")
        if old.status not in RERUNNABLE:
            raise Conflict(f"run {run_id} is {old.status}: only a failed, partial or "
                           "cancelled run can be re-run")
        flow = await session.get(DataFlow, old.data_flow_id)
        if flow is None:
            raise NotFound(f"the data flow of run {run_id} no longer exists")
        busy = await session.scalar(select(SyncRun.id).where(
            SyncRun.data_flow_id == flow.id, SyncRun.status.in_(runs.OPEN)))
        if busy is not None:
            raise Conflict(f"data flow {flow.name!r} has a run open already ({busy}); "
                           "re-run once it ends")
    point = dict(old.checkpoint or {})
    if start == "checkpoint" and point.get("done"):
        raise ValidationFailed(f"run {run_id} had read its last page: nothing is left to "
                               'resume; re-run it from "start"', field="from")
    resumed = start == "checkpoint" and bool(point.get("resume"))
    run = SyncRun(
        data_flow_id=old.data_flow_id, status="queued", trigger=TRIGGER,
        cursor_before=dict(old.cursor_before) if start == "checkpoint" else {},
        checkpoint=point if resumed else {},
        summary={"rerun_of": str(old.id), "from": start,
                 **({"resumed_from": point} if resumed else {})})
    try:
        async with db.transaction(tenant_id) as session:
            session.add(run)
            await session.flush()
            old = await session.get(SyncRun, run_id, populate_existing=True) or old
            old.summary = {**old.summary, "rerun_as": str(run.id)}
    except IntegrityError:
        raise Conflict(f"data flow {flow.name!r} has a run open already; re-run once it "
                       "ends") from None
    return run, old
