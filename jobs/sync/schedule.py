"""Scheduled runs: the cron tick that starts every active flow whose ``next_run_at`` is due.

The database is the authority. One transaction claims a batch of due flows
(``FOR UPDATE SKIP LOCKED``, so a second worker's tick passes over them), moves each
``next_run_at`` on to its next slot and queues a run for it; the partial unique
index on ``sync_runs`` backs that with "one queued or running run per flow". Only
after the commit are the jobs enqueued, with an id made from the run, so enqueueing
twice is a no-op; a job lost between commit and enqueue leaves a queued run that the
stalled-run sweep hands to a worker.

    hourly/daily/weekly   the next slot in the flow's own phase (catching up once, not
                          once per missed slot, after a worker outage)
    cron + timezone       the expression's next time after now, in its zone
    realtime              webhooks drive it (jobs/sync/realtime.py); an hourly delta is
                          the safety net for a delivery that never came
    manual, paused, error never scheduled (``next_run_at`` is None)

Every slot gets a jitter that is fixed per flow (a hash of its id) and bounded (10% of
the interval, at most five minutes), so a tenant's hundred hourly flows do not all call
the provider at :00. A due flow whose run is still going answers that run and moves on
to its next slot; a realtime flow instead stays due until the run ends, so a change a
webhook announced during the run is read by one follow-up run (see realtime.py). A flow
held by an upkeep run (a deletion check, a reconciliation, a replay) stays due too, and
its sync starts on the first tick after that run.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from sqlalchemy import exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from jobs.constants import SYNC_JOB, SYNC_JOB_ID
from jobs.flow_schedule import EVERY, REALTIME_SAFETY_NET, next_run_at
from jobs.sync.runs import ACTIVE, OPEN, UPKEEP
from store.db import Database
from store.models import DataFlow, Integration, SyncRun

log = logging.getLogger(__name__)

SCHEDULE_EVERY_S = 10  # how often a worker looks for due flows
SCHEDULE_BATCH = 200  # due flows claimed per tick; the rest wait for the next one
JITTER_FRACTION = 0.1  # of the interval between two slots ...
JITTER_CAP = timedelta(minutes=5)  # ... and never more than this
SAFETY_NET = REALTIME_SAFETY_NET  # a realtime flow's scheduled delta
# a person switched the integration off: its flows wait (due) until it is back
INTEGRATION_OFF = ("inactive",)


def _now() -> datetime:
    return datetime.now(UTC)


def interval(frequency: str, schedule: dict[str, Any], at: datetime) -> timedelta | None:
    """The time between two slots around ``at``; None for a flow with no slots."""
    if frequency == "realtime":
        return SAFETY_NET
    if frequency in EVERY:
        return EVERY[frequency]
    first = next_run_at(frequency, schedule, at)
    second = next_run_at(frequency, schedule, first) if first else None
    return second - first if first and second else None


def jitter(flow_id: uuid.UUID, span: timedelta) -> timedelta:
    """The flow's own offset into a slot: in [0, min(10% of span, 5 min)), the same on
    every slot (a hash of the id), so a flow keeps its phase."""
    bound = min(span * JITTER_FRACTION, JITTER_CAP)
    fraction = int.from_bytes(hashlib.sha256(flow_id.bytes).digest()[:8], "big") / 2 ** 64
    return bound * fraction


def next_slot(flow_id: uuid.UUID, frequency: str, schedule: dict[str, Any],
              previous: datetime | None = None, now: datetime | None = None) -> datetime | None:
    """When the flow runs next, jitter included. ``previous`` is the ``next_run_at`` that
    just came due: fixed intervals keep its phase (the first slot after now in the same
    series), a cron takes its expression's next time. None: the flow is never scheduled."""
    now = now or _now()
    span = interval(frequency, schedule, now)
    if span is None:
        return None
    offset = jitter(flow_id, span)
    if frequency == "cron":
        found = next_run_at(frequency, schedule, now)
        return found + offset if found else None
    if previous is None:
        return now + span + offset
    base = previous - offset  # the slot itself, without this flow's jitter
    missed = max(0, (now - base) // span)  # slots gone by, counting the one now due
    return base + span * (missed + 1) + offset


def first_slot(flow: DataFlow, now: datetime | None = None) -> datetime | None:
    """``next_run_at`` for a flow just saved (created, or its frequency, schedule or status
    changed): one interval from now, or None when it is not active."""
    if flow.status != "active":
        return None
    return next_slot(flow.id, flow.sync_frequency, flow.schedule or {}, now=now)


async def enqueue_run(queue: ArqRedis, flow_id: uuid.UUID, run_id: uuid.UUID, trigger: str,
                      *, defer_by: float | None = None) -> None:
    """The job of a run this module or realtime.py queued; the id makes a repeat a no-op.
    (jobs.py imports this module for its cron list, so its ``enqueue`` is not used here.)"""
    await queue.enqueue_job(SYNC_JOB, str(flow_id), str(run_id), _defer_by=defer_by,
                            _job_id=SYNC_JOB_ID.format(run_id=run_id, attempt=trigger))


async def schedule_due_flows(ctx: dict[str, Any]) -> int:
    """The cron tick: queue a run of each due flow and move its ``next_run_at`` on.
    Returns how many runs it queued."""
    queued = await claim_due(ctx["db"])
    queue: ArqRedis | None = ctx.get("redis")
    if queue is not None:
        for flow_id, run_id in queued:
            await enqueue_run(queue, flow_id, run_id, "schedule")
    if queued:
        log.info("scheduled %d due data flow run(s)", len(queued))
    return len(queued)


async def claim_due(db: Database, *, limit: int = SCHEDULE_BATCH,
                    now: datetime | None = None) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(flow, run) for each run queued by this tick, in one transaction across tenants."""
    now = now or _now()
    running = exists().where(SyncRun.data_flow_id == DataFlow.id, SyncRun.status.in_(OPEN))
    # a deletion check or a replay holds the flow's lock briefly: the slot waits for it
    # (stays due) rather than being answered by a run that is not a sync
    upkeep = exists().where(SyncRun.data_flow_id == DataFlow.id, SyncRun.status.in_(OPEN),
                            SyncRun.trigger.in_(UPKEEP))
    async with db.transaction(None) as session:
        due = (await session.execute(
            select(DataFlow.id, DataFlow.tenant_id, DataFlow.sync_frequency,
                   DataFlow.schedule, DataFlow.next_run_at, DataFlow.cursor)
            .join(Integration, Integration.id == DataFlow.integration_id)
            .where(DataFlow.status == "active", DataFlow.next_run_at <= now,
                   Integration.status.not_in(INTEGRATION_OFF),
                   # a realtime flow with a run going stays due: its follow-up comes next
                   or_(DataFlow.sync_frequency != "realtime", ~running), ~upkeep)
            .order_by(DataFlow.next_run_at).limit(limit)
            .with_for_update(of=DataFlow, skip_locked=True))).all()
        if not due:
            return []
        busy = set((await session.scalars(select(SyncRun.data_flow_id).where(
            SyncRun.data_flow_id.in_([row.id for row in due]),
            SyncRun.status.in_(OPEN)))).all())
        for row in due:
            await session.execute(
                update(DataFlow).where(DataFlow.id == row.id)
                .values(next_run_at=next_slot(row.id, row.sync_frequency, row.schedule or {},
                                              row.next_run_at, now))
                .execution_options(synchronize_session=False))
        fresh = [row for row in due if row.id not in busy]
        if not fresh:
            return []
        # a run that a person or a webhook opened since the check above wins: no second one
        created = (await session.execute(
            insert(SyncRun).values([
                {"id": uuid.uuid4(), "tenant_id": row.tenant_id, "data_flow_id": row.id,
                 "status": "queued", "trigger": "schedule", "started_at": now,
                 "cursor_before": dict(row.cursor or {})} for row in fresh])
            .on_conflict_do_nothing(index_elements=["data_flow_id"],
                                    index_where=text(f"status IN {ACTIVE!r}"))
            .returning(SyncRun.data_flow_id, SyncRun.id))).all()
    return [(flow_id, run_id) for flow_id, run_id in created]
