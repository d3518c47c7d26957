"""Starting syncs and reading their runs: ``sync_now`` and the sync-run list.

``sync_now`` never starts a second run of a flow: a flow that is already queued,
running or paused at a quota answers the run it has, so pressing the button twice
(or a person and the scheduler at once) moves every record once.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from jobs.constants import SYNC_LEASE_S, SYNC_MAX_TRIES, SYNC_RETRY_BASE_S
from jobs.sync.engine import Batch, BatchHook, Engine, new_owner
from jobs.sync.jobs import enqueue, run_once
from jobs.sync.runs import claim, open_run
from store.accounts import Caller
from store.errors import Conflict, NotFound, TransientError, ValidationFailed
from store.models import DataFlow, Role, SyncRun
from store.queries import load_integration
from tools import paging
from tools.audit import audit
from tools.context import Services, require

MAX_RUNS = 200

__all__ = ["Batch", "SyncNowRequest", "SyncNowResult", "SyncRunPublic", "find_flow",
           "list_sync_runs", "run_in_foreground", "sync_now"]


class SyncNowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_flow: str | None = Field(None, max_length=100,
                                  description="one flow's id or name; every active flow of "
                                              "the integration when left out")


class StartedRun(BaseModel):
    data_flow: uuid.UUID
    data_flow_name: str
    run_id: uuid.UUID
    status: str
    started: bool = Field(description="false: the flow already had this run open, so no "
                                      "second one was started")


class SyncNowResult(BaseModel):
    runs: list[StartedRun]


class SyncRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    data_flow: uuid.UUID = Field(validation_alias="data_flow_id")
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    records_read: int
    records_written: int
    records_unchanged: int
    records_failed: int
    records_deleted: int
    cursor_before: dict[str, Any]
    cursor_after: dict[str, Any]
    summary: dict[str, Any]
    error: str | None


def run_public(run: SyncRun) -> SyncRunPublic:
    return SyncRunPublic.model_validate(run)


def _flow_ref(ref: str) -> Any:
    try:
        return DataFlow.id == uuid.UUID(ref)
    except ValueError:
        return DataFlow.name == ref


async def sync_now(services: Services, caller: Caller, integration_id: uuid.UUID,
                   body: SyncNowRequest | None = None) -> SyncNowResult:
    """Queue a run of the integration's active flows (or the one named) for the workers."""
    require(caller, Role.member, "starting a sync")
    if services.queue is None:
        raise TransientError("the job queue is not reachable, so no sync can be queued")
    wanted = body.data_flow if body else None
    async with services.db.session(caller.tenant_id) as session:
        await load_integration(session, integration_id)
        query = select(DataFlow).where(DataFlow.integration_id == integration_id)
        query = query.where(_flow_ref(wanted)) if wanted else query.where(
            DataFlow.status == "active")
        flows = (await session.scalars(query.order_by(DataFlow.name))).all()
    if wanted and not flows:
        raise NotFound(f"integration {integration_id} has no data flow {wanted!r}")
    if not flows:
        raise ValidationFailed("the integration has no active data flows to sync",
                               field="data_flow")
    started = []
    for flow in flows:
        run, created = await open_run(services.db, caller.tenant_id, flow.id, trigger="manual")
        if run.status == "queued":  # idempotent by job id: a lost job is queued again
            await enqueue(services.queue, flow.id, run.id)
        started.append(StartedRun(data_flow=flow.id, data_flow_name=flow.name, run_id=run.id,
                                  status=run.status, started=created))
    fresh = [str(s.run_id) for s in started if s.started]
    if fresh:  # answering runs already open changes nothing worth an audit row
        async with services.db.transaction(caller.tenant_id) as session:
            audit(session, caller, "integration.sync_now", "integration", integration_id,
                  runs=fresh)
    return SyncNowResult(runs=started)


async def list_sync_runs(services: Services, caller: Caller, data_flow: uuid.UUID | None = None,
                         status: str | None = None, limit: int = 50) -> list[SyncRunPublic]:
    """The newest runs first, of one flow or all the tenant's."""
    return (await sync_runs_page(services, caller, data_flow, status, limit)).items


async def sync_runs_page(services: Services, caller: Caller, data_flow: uuid.UUID | None = None,
                         status: str | None = None, limit: int = 50,
                         cursor: str | None = None) -> paging.Page[SyncRunPublic]:
    limit = max(1, min(limit, MAX_RUNS))
    query = select(SyncRun)
    if data_flow is not None:
        query = query.where(SyncRun.data_flow_id == data_flow)
    if status:
        query = query.where(SyncRun.status == status)
    query = paging.keyset(query, SyncRun.started_at, SyncRun.id, cursor, limit)
    async with services.db.session(caller.tenant_id) as session:
        rows = list((await session.scalars(query)).all())
    return paging.Page[SyncRunPublic](items=[run_public(r) for r in rows[:limit]],
                                      next_cursor=paging.next_cursor(rows, limit, "started_at"))


async def get_sync_run(services: Services, caller: Caller, run_id: uuid.UUID) -> SyncRunPublic:
    async with services.db.session(caller.tenant_id) as session:
        run = await session.scalar(select(SyncRun).where(SyncRun.id == run_id))
    if run is None:
        raise NotFound(f"no sync run {run_id}")
    return run_public(run)


async def find_flow(services: Services, ref: str) -> DataFlow:
    """A flow by id or by name, for the operator's CLI (every tenant: the CLI runs with the
    installation's own rights); a name two tenants share must be given as an id."""
    async with services.db.transaction(None) as session:
        found = (await session.scalars(select(DataFlow).where(_flow_ref(ref)).limit(2))).all()
    if not found:
        raise NotFound(f"no data flow {ref!r}")
    if len(found) > 1:
        raise ValidationFailed(f"more than one data flow is named {ref!r}: give its id",
                               field="flow")
    return found[0]


async def run_in_foreground(services: Services, flow: DataFlow,
                            on_batch: BatchHook | None = None) -> SyncRunPublic:
    """Run the flow here and now, as a worker would (same lock, lease and checkpoints), with
    transient failures retried in place; a quota pause ends it, to resume on its own."""
    owner, run_id = new_owner(), None
    for attempt in range(1, SYNC_MAX_TRIES + 1):
        run = await claim(services.db, flow.tenant_id, flow.id, owner=owner,
                          lease_s=SYNC_LEASE_S, run_id=run_id, trigger="manual")
        if run is None:
            raise Conflict(f"data flow {flow.name!r} is being synced by a worker right now")
        run_id = run.id
        engine = Engine(services.db, services.vault, services.queue, owner, SYNC_LEASE_S,
                        allow_private=services.settings.allow_private_urls,
                        on_batch=on_batch)
        outcome = await run_once(engine, run, queue=services.queue, job_try=attempt)
        if outcome.settled is not None and outcome.settled.status == "retry":
            await asyncio.sleep(outcome.settled.retry_in or SYNC_RETRY_BASE_S)
            continue
        return run_public(outcome.run)
    raise AssertionError("unreachable: the last try settles as failed")
