"""trigger_sync and delay: start a data flow's sync, and wait without holding a worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from jobs.sync.jobs import enqueue
from jobs.sync.runs import open_run
from jobs.workflows.actions.base import (
    ActionContext,
    ActionRefused,
    ActionSpec,
    Directory,
    Params,
    Postpone,
)
from store.db import Database
from store.errors import ValidationFailed
from store.models import DataFlow

MAX_DELAY_S = 7 * 24 * 3600


class SyncParams(Params):
    data_flow: str = Field(min_length=1, max_length=100, description="the flow's id or name")


def resolve_sync(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    if not params.get("data_flow"):
        return {}
    return {"data_flow": str(directory.flow(params["data_flow"], f"{field}.data_flow").id)}


async def trigger_sync(ctx: ActionContext, params: SyncParams) -> dict[str, Any]:
    db: Database = ctx.services["db"]
    flow_id = uuid.UUID(params.data_flow)
    async with db.session(ctx.tenant_id) as session:
        flow = await session.get(DataFlow, flow_id)
    if flow is None:
        raise ActionRefused(f"{ctx.field}.data_flow: the data flow {flow_id} is gone")
    run, created = await open_run(db, ctx.tenant_id, flow_id, trigger="workflow")
    if run.status == "queued":  # idempotent by job id, as sync_now does
        await enqueue(ctx.services["redis"], flow_id, run.id)
    return {"data_flow": str(flow_id), "data_flow_name": flow.name, "sync_run_id": str(run.id),
            "status": run.status, "started": created}


class DelayParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"seconds", "until"})

    seconds: int | None = Field(None, ge=1, le=MAX_DELAY_S, description=(
        "how long to wait, at most 7 days"))
    until: datetime | None = Field(None, description=(
        "or a moment to wait for (ISO 8601 with a zone), templated"))


def resolve_delay(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    if params.get("seconds") is None and params.get("until") is None:
        raise ValidationFailed("give seconds or until", field=f"{field}.seconds")
    return {}


async def delay(ctx: ActionContext, params: DelayParams) -> dict[str, Any]:
    """Raises Postpone the first time; the runner marks the step done once it is due."""
    now = datetime.now(UTC)
    if params.until is not None:
        until = params.until if params.until.tzinfo else params.until.replace(tzinfo=UTC)
    elif params.seconds is not None:
        until = now + timedelta(seconds=params.seconds)
    else:
        raise ActionRefused(f"{ctx.field}: give seconds or until")
    if until - now > timedelta(seconds=MAX_DELAY_S):
        raise ActionRefused(f"{ctx.field}.until: at most 7 days ahead")
    raise Postpone(until)


SYNC = ActionSpec("trigger_sync", "Start a sync of one of the tenant's data flows", SyncParams,
                  trigger_sync, resolve_sync)
DELAY = ActionSpec("delay", "Wait a while (or until a moment) before the next step, without "
                   "holding a worker", DelayParams, delay, resolve_delay)
