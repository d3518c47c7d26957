"""The sync engine's arq jobs, declared as data with their timeout and tries, the sweep
that hands runs of dead workers to live ones, and the tick that starts due flows
(schedule.py)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq import ArqRedis, Retry, cron
from arq.cron import CronJob
from arq.worker import Function, func
from sqlalchemy import select

from jobs.constants import (
    SYNC_JOB,
    SYNC_JOB_ID,
    SYNC_JOB_TIMEOUT_S,
    SYNC_LEASE_S,
    SYNC_MAX_TRIES,
    SYNC_SWEEP_EVERY_S,
)
from jobs.health.refresh import refresh_flow_health
from jobs.sync import runs
from jobs.sync.engine import Engine, new_owner
from jobs.sync.failures import Settled, settle
from jobs.sync.schedule import SCHEDULE_EVERY_S, schedule_due_flows
from store.db import Database
from store.errors import classify_failure
from store.models import DataFlow, SyncRun

log = logging.getLogger(__name__)


async def flow_tenant(db: Database, flow_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant a job's flow belongs to: a job carries ids only, never a tenant to trust."""
    async with db.transaction(None) as session:
        found: uuid.UUID | None = await session.scalar(
            select(DataFlow.tenant_id).where(DataFlow.id == flow_id))
    return found


async def enqueue(queue: ArqRedis, flow_id: uuid.UUID, run_id: uuid.UUID, *, attempt: str = "0",
                  defer_until: datetime | None = None) -> None:
    await queue.enqueue_job(SYNC_JOB, str(flow_id), str(run_id),
                            _job_id=SYNC_JOB_ID.format(run_id=run_id, attempt=attempt),
                            _defer_until=defer_until)


async def run_data_flow(ctx: dict[str, Any], flow_id: str,
                        run_id: str | None = None) -> dict[str, Any]:
    """Claim the flow's run (``run_id``, else its open one, else a new one) and sync it.
    A run another worker holds is left alone: this job ends at once."""
    db: Database = ctx["db"]
    flow = uuid.UUID(flow_id)
    tenant_id = await flow_tenant(db, flow)
    if tenant_id is None:
        return {"status": "gone", "data_flow": flow_id}
    lease_s = float(ctx.get("sync_lease_s", SYNC_LEASE_S))
    owner = new_owner()
    run = await runs.claim(db, tenant_id, flow, owner=owner, lease_s=lease_s,
                           run_id=uuid.UUID(run_id) if run_id else None, trigger="schedule")
    if run is None:
        return {"status": "held elsewhere", "data_flow": flow_id, "run_id": run_id}
    engine = Engine(db, ctx["vault"], ctx["redis"], owner, lease_s,
                    allow_private=bool(ctx.get("allow_private", False)),
                    attempts=ctx.get("sync_attempts"))
    try:
        outcome = await run_once(engine, run, queue=ctx["redis"],
                                 job_try=int(ctx.get("job_try", 1)))
    finally:  # each sync moves its integration's health score, failed or not
        await refresh_flow_health(db, ctx["vault"], tenant_id, flow)
    if outcome.settled is not None and outcome.settled.status == "retry":
        raise Retry(defer=outcome.settled.retry_in)
    done = outcome.run
    return {"status": outcome.settled.status if outcome.settled else done.status,
            "run_id": str(done.id), "records_read": done.records_read,
            "records_written": done.records_written, "records_failed": done.records_failed,
            "error": done.error}


@dataclass(frozen=True)
class Outcome:
    run: SyncRun
    settled: Settled | None  # None: the run finished


async def run_once(engine: Engine, run: SyncRun, *, queue: ArqRedis, job_try: int) -> Outcome:
    """One attempt at a run, its failure settled: a quota pause is queued again for the
    reset; a bug is recorded, then propagates. A retry is the caller's to schedule."""
    try:
        return Outcome(await engine.run(run), None)
    except Exception as exc:  # classed and recorded by settle; bugs go on below
        settled = await settle(engine.db, run, engine.owner, exc, job_try=job_try)
        if settled.status == "paused" and settled.resume_at is not None:
            await enqueue(queue, run.data_flow_id, run.id, defer_until=settled.resume_at,
                          attempt=f"resume-{int(settled.resume_at.timestamp())}")
        elif settled.status == "failed" and classify_failure(exc).kind == "system":
            raise
        return Outcome(await runs.load(engine.db, run.tenant_id, run.id), settled)


async def resume_stalled_runs(ctx: dict[str, Any]) -> int:
    """Hand every run nobody works on to a worker: the lock survives a crashed worker only
    if someone notices its lease lapse (arq itself will not rerun a job whose worker died
    until the job's whole timeout has passed). Job ids make a second sweep a no-op."""
    found = await runs.stalled(ctx["db"])
    for flow_id, run_id, why in found:
        await enqueue(ctx["redis"], flow_id, run_id, attempt=f"sweep-{why}")
    if found:  # the tick itself is not logged (jobs/worker.py): only what it did
        log.info("handed %d stalled sync run(s) to a worker", len(found))
    return len(found)


JOBS: tuple[Function, ...] = (
    func(run_data_flow, name=SYNC_JOB, timeout=SYNC_JOB_TIMEOUT_S, max_tries=SYNC_MAX_TRIES),
)
CRON_JOBS: tuple[CronJob, ...] = (
    cron(resume_stalled_runs, second=set(range(0, 60, SYNC_SWEEP_EVERY_S)), unique=True,
         run_at_startup=True, timeout=60),
    # between the sweep's seconds; unique: one tick per moment across workers
    cron(schedule_due_flows, second=set(range(5, 60, SCHEDULE_EVERY_S)), unique=True,
         run_at_startup=True, timeout=60),
)
