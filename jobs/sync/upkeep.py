"""Runs that hold a flow's lock without syncing it: deletion checks, reconciliations and
dead-letter replays (``runs.UPKEEP`` triggers).

Each is a ``SyncRun`` row, started only when the flow has no open run, and created
``running`` under the same partial unique index as a sync, so it never overlaps one: a
sync that comes while it runs finds the flow busy, and the other way round. The sync
engine never claims an upkeep run and the stalled-run sweep never hands one on; a
worker that dies mid-check leaves its run to ``end_abandoned``, which fails it once its
lease has lapsed. What such a run writes commits at its end (deletions) or per batch
(backfills, which are idempotent), so the unfinished part changed nothing.

Upkeep runs end without touching the flow's cursor, counters or ``last_run``: those
describe its syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.registry import connector_spec
from connectors.spec import Stream
from jobs.mapping import Mapper, compile_mappings, parse_mappings
from jobs.mapping.salt import tenant_salt
from jobs.sync import runs
from store.crypto import SecretBox
from store.db import Database
from store.errors import ValidationFailed, classify_failure
from store.models import DataFlow, HealthLog, Integration, IntegrationProvider, SyncRun
from store.queries import load_integration

RETRY_FAILED_S = 3600.0  # a failed check is tried again after this, whatever its schedule
JITTER_S = 30.0  # scheduled checks are spread over this many seconds


@dataclass
class Setup:
    flow: DataFlow
    integration: Integration
    provider: str
    stream: Stream


async def start(db: Database, tenant_id: uuid.UUID, flow_id: uuid.UUID, *, owner: str,
                lease_s: float, trigger: str,
                summary: dict[str, Any] | None = None) -> SyncRun | None:
    """A new running upkeep run of the flow held by ``owner``; None while the flow has an
    open run (a sync queued, running or paused at a quota, or another upkeep run)."""
    assert trigger in runs.UPKEEP
    async with db.transaction(tenant_id) as session:
        busy = await session.scalar(select(SyncRun.id).where(
            SyncRun.data_flow_id == flow_id, SyncRun.status.in_(runs.OPEN)))
    if busy is not None:
        return None
    try:
        async with db.transaction(tenant_id) as session:
            flow = await session.get(DataFlow, flow_id)
            if flow is None:
                raise ValidationFailed(f"data flow {flow_id} no longer exists")
            run = SyncRun(data_flow_id=flow_id, status="running", trigger=trigger,
                          lease_owner=owner,
                          lease_expires_at=datetime.now(UTC) + timedelta(seconds=lease_s),
                          cursor_before=dict(flow.cursor), summary=dict(summary or {}))
            session.add(run)
        return run
    except IntegrityError:  # a sync started in between: the flow is its
        return None


async def setup(db: Database, run: SyncRun) -> Setup:
    """The run's flow, integration, provider and stream."""
    async with db.transaction(run.tenant_id) as session:
        flow = await session.get(DataFlow, run.data_flow_id)
        if flow is None:
            raise ValidationFailed(f"data flow {run.data_flow_id} no longer exists")
        integration, provider = await load_integration(session, flow.integration_id)
    if not flow.stream:
        raise ValidationFailed("the flow names no stream to read", field="stream")
    spec = connector_spec(provider)
    if spec is None:
        raise ValidationFailed(f"{provider} has no connector", field="integration")
    return Setup(flow, integration, provider, spec.stream(flow.stream))


def mapper_for(flow: DataFlow, vault: SecretBox) -> Mapper:
    """The flow's current mapping, compiled as the engine compiles it."""
    return compile_mappings(parse_mappings(
        flow.mappings, source_fields=flow.source_fields, target_fields=flow.target_fields,
        rules=flow.transformation_rules), salt=tenant_salt(vault, flow.tenant_id))


class Lease:
    """Renews the run's lease while the work goes on; ``check()`` between steps raises
    ``runs.LeaseLost`` once it could not."""

    def __init__(self, db: Database, run: SyncRun, owner: str, lease_s: float) -> None:
        self.db, self.run, self.owner, self.lease_s = db, run, owner, lease_s
        self._task: asyncio.Task[None] | None = None

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await runs.renew(self.db, self.run, self.owner, self.lease_s)

    def check(self) -> None:
        if self._task is not None and self._task.done():
            self._task.result()  # LeaseLost, or whatever stopped the renewals

    async def __aenter__(self) -> Lease:
        self._task = asyncio.create_task(self._renew())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, runs.LeaseLost):
                await self._task


async def end(session: AsyncSession, run: SyncRun, owner: str, *, status: str,
              error: str | None = None, summary: dict[str, Any] | None = None,
              **counts: int) -> SyncRun:
    """End the run inside the caller's transaction, so what it marks and its ending commit
    together; raises ``runs.LeaseLost`` (rolling all of it back) unless ``owner`` still
    holds it. ``counts`` add to the run's own (``records_deleted=3``)."""
    ended = await session.scalar(
        select(SyncRun).where(SyncRun.id == run.id, SyncRun.lease_owner == owner,
                              SyncRun.status == "running")
        .with_for_update().execution_options(populate_existing=True))
    if ended is None:
        raise runs.LeaseLost(str(run.id))
    ended.status, ended.error, ended.finished_at = status, error, datetime.now(UTC)
    ended.lease_owner, ended.lease_expires_at = None, None
    ended.summary = {**ended.summary, **(summary or {})}
    for name, value in counts.items():
        setattr(ended, name, getattr(ended, name) + value)
    return ended


async def finish(db: Database, run: SyncRun, owner: str, *, status: str = "succeeded",
                 error: str | None = None, summary: dict[str, Any] | None = None,
                 **counts: int) -> SyncRun:
    async with db.transaction(run.tenant_id) as session:
        return await end(session, run, owner, status=status, error=error, summary=summary,
                         **counts)


async def fail(db: Database, run: SyncRun, owner: str, error: BaseException, *,
               category: str) -> SyncRun:
    """End the run failed, classed by the failure taxonomy, with a health-log entry. A run
    another hand already ended (its lease lapsed) is left as it is."""
    failure = classify_failure(error)
    if isinstance(error, runs.LeaseLost):
        return await runs.load(db, run.tenant_id, run.id)
    message = f"{failure.message}. {failure.action}"
    try:
        ended = await finish(db, run, owner, status="failed", error=message,
                             summary={"failure": failure.kind, "code": failure.code})
    except runs.LeaseLost:
        return await runs.load(db, run.tenant_id, run.id)
    severity = {"transient": "warning", "config": "error"}.get(failure.kind, "critical")
    await log(db, run, severity, category, f"{run.trigger} run failed: {message}",
              kind=failure.kind, code=failure.code, action=failure.action)
    return ended


async def log(db: Database, run: SyncRun, severity: str, category: str, message: str,
              **details: Any) -> None:
    async with db.transaction(run.tenant_id) as session:
        flow = await session.get(DataFlow, run.data_flow_id)
        session.add(HealthLog(
            tenant_id=run.tenant_id, integration_id=flow.integration_id if flow else None,
            severity=severity, category=category[:40], message=message,
            details={**details, "sync_run_id": str(run.id),
                     "data_flow_id": str(run.data_flow_id)}))


async def end_abandoned(ctx: dict[str, Any]) -> int:
    """Fail the upkeep runs whose worker died (their lease lapsed), freeing their flows."""
    db: Database = ctx["db"]
    now = datetime.now(UTC)
    async with db.transaction(None) as session:
        ended = (await session.scalars(
            update(SyncRun)
            .where(SyncRun.trigger.in_(runs.UPKEEP), SyncRun.status == "running",
                   SyncRun.lease_expires_at < now)
            .values(status="failed", finished_at=now, lease_owner=None, lease_expires_at=None,
                    error="the worker stopped before the run ended (its lease lapsed); "
                          "nothing of the unfinished part was applied")
            .returning(SyncRun.id).execution_options(synchronize_session=False))).all()
    return len(ended)


# -- scheduling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    flow_id: uuid.UUID
    last_try: datetime | None


async def due(db: Database, trigger: str, every: Callable[[DataFlow], timedelta | None],
              can: Callable[[Stream], bool], *, now: datetime | None = None) -> list[Due]:
    """Active flows reading a stream that ``can`` be checked, whose last successful
    ``trigger`` run is older than ``every(flow)`` (or that never had one) and whose last
    attempt is older than that too, or than ``RETRY_FAILED_S`` if it failed. Across
    tenants: the scheduler serves the installation."""
    now = now or datetime.now(UTC)

    def latest(*where: Any) -> Any:
        return (select(func.max(SyncRun.started_at))
                .where(SyncRun.data_flow_id == DataFlow.id, SyncRun.trigger == trigger, *where)
                .correlate(DataFlow).scalar_subquery())

    query = (select(DataFlow, IntegrationProvider.name, latest(SyncRun.status == "succeeded"),
                    latest())
             .join(Integration, Integration.id == DataFlow.integration_id)
             .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
             .where(DataFlow.status == "active", DataFlow.stream.is_not(None),
                    DataFlow.direction.in_(("inbound", "bidirectional")),
                    DataFlow.records_processed > 0))
    async with db.transaction(None) as session:
        rows = (await session.execute(query)).all()
    found = []
    for flow, provider, last_ok, last_try in rows:
        interval = every(flow)
        spec = connector_spec(provider)
        if interval is None or spec is None:
            continue
        try:
            stream = spec.stream(flow.stream or "")
        except KeyError:
            continue
        if not can(stream):
            continue
        if last_ok is not None and now - last_ok < interval:
            continue
        if last_try is not None and now - last_try < min(interval,
                                                         timedelta(seconds=RETRY_FAILED_S)):
            continue
        found.append(Due(flow.id, last_try))
    return found


async def enqueue_due(queue: ArqRedis, job: str, found: list[Due]) -> int:
    """Queue each due flow's job once: its id names the flow and its last attempt, so a
    second tick before the job has started its run adds nothing."""
    for item in found:
        stamp = int(item.last_try.timestamp()) if item.last_try else 0
        await queue.enqueue_job(job, str(item.flow_id),
                                _job_id=f"connectus:{job}:{item.flow_id}:{stamp}",
                                _defer_by=random.uniform(0, JITTER_S))
    return len(found)
