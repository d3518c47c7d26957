"""A flow's runs in the database: queue, claim, lease, checkpoint and finish.

The lock is the row. ``uq_sync_runs_one_active`` lets a flow have one queued or
running run, so a second start can only ever find the first. A worker holds a
running run by a lease (``lease_owner``, ``lease_expires_at``) renewed while it
works and with every committed batch; a run whose lease lapsed (its worker died)
is taken over by the next claim and resumes from ``checkpoint``.

    queued ──claim──> running ──> succeeded | partial (some records dead-lettered)
                         │ ├────> failed    (config or system error; ``error`` says why)
                         │ └────> paused    (quota: resumes at its reset, from the checkpoint)
                         └─ lease lapsed ──> running (another worker, same row)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.models import DataFlow, Integration, SyncRun

ACTIVE = ("queued", "running")
# a paused run still owns the flow's next start: sync_now answers it rather than a new one
OPEN = (*ACTIVE, "paused")
# runs that hold the flow's lock but are no sync: deletion checks, reconciliations, replays
# (jobs/sync/upkeep.py); the sync engine never claims them, nor does the sweep hand them on
UPKEEP = ("deletions", "reconcile", "replay")


class LeaseLost(Exception):  # a signal between our own layers, not a failure
    """Another worker took the run over: stop without writing anything more."""


def _now() -> datetime:
    return datetime.now(UTC)


async def open_run(db: Database, tenant_id: uuid.UUID, flow_id: uuid.UUID, *,
                   trigger: str = "manual") -> tuple[SyncRun, bool]:
    """The flow's open run, or a new queued one: (run, created)."""
    for _ in range(3):  # a race lost to another start finds that start's run next time
        async with db.transaction(tenant_id) as session:
            found = await session.scalar(select(SyncRun).where(
                SyncRun.data_flow_id == flow_id, SyncRun.status.in_(OPEN)))
            if found is not None:
                return found, False
        try:
            async with db.transaction(tenant_id) as session:
                flow = await session.get(DataFlow, flow_id)
                run = SyncRun(data_flow_id=flow_id, status="queued", trigger=trigger,
                              cursor_before=dict(flow.cursor) if flow else {})
                session.add(run)
            return run, True
        except IntegrityError:
            continue
    raise RuntimeError(f"could not open a run of flow {flow_id}")


async def claim(db: Database, tenant_id: uuid.UUID, flow_id: uuid.UUID, *, owner: str,
                lease_s: float, run_id: uuid.UUID | None = None,
                trigger: str = "manual") -> SyncRun | None:
    """Take the flow's run for ``owner``: the given one, or the open one, or a new one.
    None when another worker holds it (its lease is live) or it has already ended."""
    now = _now()
    takeable = or_(SyncRun.status.in_(("queued", "paused")),
                   (SyncRun.status == "running") & (SyncRun.lease_expires_at < now),
                   (SyncRun.status == "running") & (SyncRun.lease_owner == owner))
    if run_id is not None:  # a released run (waiting for its retry) is free to its own job
        takeable = or_(takeable, (SyncRun.status == "running") & SyncRun.lease_owner.is_(None))
    takeable = takeable & SyncRun.trigger.notin_(UPKEEP)
    target = (SyncRun.id == run_id if run_id is not None else
              (SyncRun.data_flow_id == flow_id) & SyncRun.status.in_(OPEN))
    try:
        async with db.transaction(tenant_id) as session:
            taken = await session.scalar(
                update(SyncRun).where(target, takeable)
                .values(status="running", lease_owner=owner,
                        lease_expires_at=now + timedelta(seconds=lease_s), error=None)
                .returning(SyncRun).execution_options(synchronize_session=False))
    except IntegrityError:  # a paused run resumed while another run had started
        return None
    if taken is not None or run_id is not None:
        return taken
    async with db.transaction(tenant_id) as session:
        busy = await session.scalar(select(SyncRun.id).where(
            SyncRun.data_flow_id == flow_id, SyncRun.status.in_(OPEN)))
    if busy is not None:
        return None
    try:
        async with db.transaction(tenant_id) as session:
            flow = await session.get(DataFlow, flow_id)
            run = SyncRun(data_flow_id=flow_id, status="running", trigger=trigger,
                          lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s),
                          cursor_before=dict(flow.cursor) if flow else {})
            session.add(run)
        return run
    except IntegrityError:  # another worker created it first: theirs
        return None


def _checkpoint_update() -> Any:
    """The run's counts, checkpoint and lease in one UPDATE, built once: every value is a
    parameter, so a batch costs no statement building or compiling. It matches no row
    once another worker owns the run. (The inbound engine's pages do the same in the
    statement that writes them: ``jobs.sync.records.write_batch``.)"""
    return (update(SyncRun)
            .where(SyncRun.id == bindparam("run_id"), SyncRun.lease_owner == bindparam("owner"),
                   SyncRun.status == "running")
            .values(records_read=SyncRun.records_read + bindparam("read", type_=Integer),
                    records_written=SyncRun.records_written
                    + bindparam("written", type_=Integer),
                    records_unchanged=SyncRun.records_unchanged
                    + bindparam("unchanged", type_=Integer),
                    records_failed=SyncRun.records_failed + bindparam("failed", type_=Integer),
                    checkpoint=bindparam("checkpoint"),
                    lease_expires_at=bindparam("lease_until"))
            .returning(SyncRun.id).execution_options(synchronize_session=False))


_CHECKPOINT = _checkpoint_update()


async def save_checkpoint(session: AsyncSession, run: SyncRun, owner: str, lease_s: float, *,
                          read: int, written: int, unchanged: int, failed: int,
                          checkpoint: dict[str, Any]) -> bool:
    """Add a batch's counts, store its checkpoint and renew the lease, in the batch's own
    transaction; False once another worker owns the run (the caller rolls back)."""
    kept = await session.scalar(_CHECKPOINT, {
        "run_id": run.id, "owner": owner, "read": read, "written": written,
        "unchanged": unchanged, "failed": failed, "checkpoint": checkpoint,
        "lease_until": _now() + timedelta(seconds=lease_s)})
    return kept is not None


async def renew(db: Database, run: SyncRun, owner: str, lease_s: float) -> None:
    async with db.transaction(run.tenant_id) as session:
        kept = await session.scalar(
            update(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == owner,
                                  SyncRun.status == "running")
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s))
            .returning(SyncRun.id).execution_options(synchronize_session=False))
    if kept is None:
        raise LeaseLost(str(run.id))


@contextlib.asynccontextmanager
async def kept(db: Database, run: SyncRun, owner: str,
               lease_s: float) -> AsyncIterator[Callable[[], None]]:
    """Renew the lease every third of it while the body works, so one slow call (a long
    rate-limit wait) does not let it lapse under a live worker. The body calls the
    ``check`` it is given between batches: it raises LeaseLost once a renewal failed."""
    async def renew_forever() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            await renew(db, run, owner, lease_s)

    renewer = asyncio.create_task(renew_forever())

    def check() -> None:
        if renewer.done():
            renewer.result()

    try:
        yield check
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, LeaseLost):
            await renewer


async def load(db: Database, tenant_id: uuid.UUID, run_id: uuid.UUID) -> SyncRun:
    async with db.transaction(tenant_id) as session:
        run = await session.get(SyncRun, run_id, populate_existing=True)
    if run is None:
        raise LookupError(f"no sync run {run_id}")
    return run


async def release(db: Database, run: SyncRun, owner: str, *, status: str,
                  error: str | None = None, summary: dict[str, Any] | None = None,
                  hold_s: float = 0.0) -> None:
    """Leave the run in ``status`` with its lease given up. A 'running' run is held for
    ``hold_s`` (its retry's delay) before the sweep may hand it to anyone else; 'paused'
    waits for its deferred job."""
    async with db.transaction(run.tenant_id) as session:
        await session.execute(
            update(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == owner)
            .values(status=status, error=error, lease_owner=None,
                    lease_expires_at=_now() + timedelta(seconds=hold_s),
                    summary={**run.summary, **(summary or {})})
            .execution_options(synchronize_session=False))


async def finish(db: Database, run: SyncRun, owner: str, *, status: str,
                 error: str | None = None, summary: dict[str, Any] | None = None) -> SyncRun:
    """End the run and roll its counts and cursor into the flow, in one transaction."""
    now = _now()
    async with db.transaction(run.tenant_id) as session:
        ended = await session.scalar(
            select(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == owner)
            .with_for_update().execution_options(populate_existing=True))
        if ended is None:
            raise LeaseLost(str(run.id))
        cursor = (ended.checkpoint or {}).get("cursor")
        ended.cursor_after = {"since": cursor} if cursor else dict(ended.cursor_before)
        ended.status, ended.error, ended.finished_at = status, error, now
        ended.lease_owner, ended.lease_expires_at = None, None
        ended.summary = {**ended.summary, **(summary or {})}
        flow_values: dict[str, Any] = {
            "records_processed": DataFlow.records_processed + ended.records_read
            - ended.records_failed,
            "records_failed": DataFlow.records_failed + ended.records_failed,
            "last_run_at": now, "last_run_id": ended.id}
        if status in ("succeeded", "partial"):
            flow_values["cursor"] = ended.cursor_after
        await session.execute(update(DataFlow).where(DataFlow.id == ended.data_flow_id)
                              .values(**flow_values)
                              .execution_options(synchronize_session=False))
        if status in ("succeeded", "partial"):
            integration_id = select(DataFlow.integration_id).where(
                DataFlow.id == ended.data_flow_id).scalar_subquery()
            await session.execute(update(Integration).where(Integration.id == integration_id)
                                  .values(last_sync_at=now)
                                  .execution_options(synchronize_session=False))
    return ended


async def stalled(db: Database, *, limit: int = 100,
                  queued_for_s: float = 60.0) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(flow, run, why) of runs nobody is working on: running with a lapsed lease (a
    worker died, or a retry's job was lost) or queued for a while (its job was lost).
    Across tenants on purpose: the sweep serves the whole installation."""
    now = _now()
    waiting = (SyncRun.status == "queued") & (
        SyncRun.started_at < now - timedelta(seconds=queued_for_s))
    async with db.transaction(None) as session:
        rows = (await session.execute(
            select(SyncRun.data_flow_id, SyncRun.id, SyncRun.status, SyncRun.lease_expires_at)
            .where(or_(waiting,
                       (SyncRun.status == "running") & (SyncRun.lease_expires_at < now)),
                   SyncRun.trigger.notin_(UPKEEP))
            .order_by(SyncRun.started_at).limit(limit))).all()
    return [(flow, run, f"{status}-{int(lapsed.timestamp()) if lapsed else 0}")
            for flow, run, status, lapsed in rows]
