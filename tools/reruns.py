"""Re-running a sync run that failed, ended partial or was cancelled: from its start (a
full re-read) or from its last committed batch (jobs/sync/rerun.py). The new run is
queued for the workers; answers it at once, like sync_now."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jobs.sync.jobs import enqueue
from jobs.sync.rerun import rerun
from store.accounts import Caller
from store.errors import TransientError
from store.models import Role
from tools.audit import audit
from tools.context import Services, require
from tools.syncs import SyncRunPublic, run_public

__all__ = ["RerunRequest", "RerunResult", "rerun_sync_run"]


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Literal["start", "checkpoint"] = Field(
        "checkpoint", alias="from", description=(
            '"start": a full re-read of the stream; "checkpoint": resume after the run\'s '
            "last committed batch"))


class RerunResult(BaseModel):
    rerun_of: uuid.UUID
    run: SyncRunPublic


async def rerun_sync_run(services: Services, caller: Caller, run_id: uuid.UUID,
                         body: RerunRequest | None = None) -> RerunResult:
    """Queue a new run repeating a failed, partial or cancelled one."""
    require(caller, Role.member, "re-running a sync")
    if services.queue is None:
        raise TransientError("the job queue is not reachable, so no run can be queued")
    start = (body or RerunRequest()).start
    run, old = await rerun(services.db, caller.tenant_id, run_id, start)
    await enqueue(services.queue, run.data_flow_id, run.id)
    async with services.db.transaction(caller.tenant_id) as session:
        audit(session, caller, "sync_run.rerun", "sync_run", old.id, run=str(run.id),
              start=start)
    return RerunResult(rerun_of=old.id, run=run_public(run))
