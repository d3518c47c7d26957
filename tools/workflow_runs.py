"""What workflows did: their runs with every step, replays, and the dead-letter list.

A failed run can be replayed from its trigger event (a new run that starts over: the
record read again, the conditions checked again, every action run) or from the step
that failed (a new run that keeps the outputs of the steps before it, with the
workflow's current actions, so a fix to the failing action takes effect). A replay is a
new run pointing at the one it replays (``replay_of``); replaying a run that already has
a replay queued or running answers that replay instead of starting another.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from jobs.workflows.dispatch import replay_dead_letter
from jobs.workflows.runner import enqueue
from store.accounts import Caller
from store.errors import Conflict, NotFound, TransientError
from store.models import Role, WorkflowAutomation, WorkflowDeadLetter, WorkflowRun
from store.models.base import utcnow
from tools import paging
from tools.audit import audit
from tools.context import Services, require

MAX_RUNS = 200
OPEN = ("queued", "running")


class WorkflowRunPublic(BaseModel):
    id: uuid.UUID
    workflow: uuid.UUID
    status: str = Field(description="queued, running, succeeded, failed or skipped (its "
                                    "conditions did not hold)")
    trigger: str
    webhook_event: uuid.UUID | None
    replay_of: uuid.UUID | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    error: str | None
    event: dict[str, Any] = Field(description="the trigger's event: type, id and payload")
    record: Any = Field(None, description="the record the event named, as read")
    steps: list[dict[str, Any]] = Field(description=(
        "per action: status, output, error, attempts, retries and duration_ms"))


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Literal["trigger", "failed_step"] = Field(
        "trigger", alias="from", description="start over from the trigger event, or go on "
        "from the step that failed")


class ReplayResult(BaseModel):
    run: WorkflowRunPublic
    started: bool = Field(description="false: a replay of this run was already queued or "
                                      "running, and this is it")


class DeadLetterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_event: uuid.UUID = Field(validation_alias="webhook_event_id")
    integration: uuid.UUID = Field(validation_alias="integration_id")
    event_type: str
    reason: str
    status: str
    runs: list[Any]
    created_at: datetime
    replayed_at: datetime | None


def run_public(run: WorkflowRun) -> WorkflowRunPublic:
    ended = run.finished_at
    took = (ended - run.started_at).total_seconds() * 1000 if ended and run.started_at else None
    context = run.context or {}
    return WorkflowRunPublic(
        id=run.id, workflow=run.workflow_id, status=run.status, trigger=run.trigger,
        webhook_event=run.webhook_event_id, replay_of=run.replay_of,
        started_at=run.started_at, finished_at=ended, duration_ms=took, error=run.error,
        event=dict(run.input or {}), record=context.get("record"), steps=list(run.steps or []))


async def list_runs(services: Services, caller: Caller, workflow_id: uuid.UUID | None = None,
                    status: str | None = None, limit: int = 50) -> list[WorkflowRunPublic]:
    """The newest runs first, of one workflow or all the tenant's."""
    return (await runs_page(services, caller, workflow_id, status, limit)).items


async def runs_page(services: Services, caller: Caller, workflow_id: uuid.UUID | None = None,
                    status: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> paging.Page[WorkflowRunPublic]:
    limit = max(1, min(limit, MAX_RUNS))
    query = select(WorkflowRun)
    async with services.db.session(caller.tenant_id) as session:
        if workflow_id is not None:
            if await session.get(WorkflowAutomation, workflow_id) is None:
                raise NotFound(f"no workflow {workflow_id}")
            query = query.where(WorkflowRun.workflow_id == workflow_id)
        if status:
            query = query.where(WorkflowRun.status == status)
        query = paging.keyset(query, WorkflowRun.started_at, WorkflowRun.id, cursor, limit)
        rows = list((await session.scalars(query)).all())
    return paging.Page[WorkflowRunPublic](
        items=[run_public(r) for r in rows[:limit]],
        next_cursor=paging.next_cursor(rows, limit, "started_at"))


async def get_run(services: Services, caller: Caller, run_id: uuid.UUID) -> WorkflowRunPublic:
    async with services.db.session(caller.tenant_id) as session:
        run = await session.get(WorkflowRun, run_id)
    if run is None:
        raise NotFound(f"no workflow run {run_id}")
    return run_public(run)


async def replay_run(services: Services, caller: Caller, run_id: uuid.UUID,
                     body: ReplayRequest | None = None) -> ReplayResult:
    require(caller, Role.member, "replaying a workflow run")
    if services.queue is None:
        raise TransientError("the job queue is not reachable, so no run can be queued")
    start = (body or ReplayRequest()).start
    async with services.db.transaction(caller.tenant_id) as session:
        original = await session.get(WorkflowRun, run_id, with_for_update=True)
        if original is None:
            raise NotFound(f"no workflow run {run_id}")
        if original.status in OPEN:
            raise Conflict(f"run {run_id} is still {original.status}; replay it once it ends")
        already = await session.scalar(select(WorkflowRun).where(
            WorkflowRun.replay_of == run_id, WorkflowRun.status.in_(OPEN)))
        if already is not None:
            return ReplayResult(run=run_public(already), started=False)
        workflow = await session.get(WorkflowAutomation, original.workflow_id)
        if workflow is None:
            raise NotFound(f"the workflow of run {run_id} is gone")
        steps: list[dict[str, Any]] = []
        context: dict[str, Any] = {}
        if start == "failed_step":
            failed = next((s for s in original.steps if s.get("status") == "failed"), None)
            if original.status != "failed" or failed is None:
                raise Conflict(f"run {run_id} has no failed step to go on from (it "
                               f"{original.status}); replay it from its trigger instead")
            steps = [{**s, "reused_from": str(run_id)} for s in original.steps
                     if s["index"] < failed["index"] and s.get("status") == "succeeded"]
            kept = dict(original.context or {})
            context = {"record": kept.get("record"), "record_source": kept.get("record_source"),
                       "conditions_met": True, "actions": list(workflow.actions),
                       "replayed_from_step": failed["index"]}
        run = WorkflowRun(id=uuid.uuid4(), tenant_id=caller.tenant_id,
                          workflow_id=workflow.id, status="queued", trigger="replay",
                          replay_of=run_id, input=dict(original.input or {}), steps=steps,
                          context=context, started_at=utcnow())
        session.add(run)
        await session.flush()
        audit(session, caller, "workflow_run.replay", "workflow_run", run_id,
              run=str(run.id), start=start)
    await enqueue(services.queue, run.id)
    return ReplayResult(run=run_public(run), started=True)


async def list_dead_letters(services: Services, caller: Caller, status: str | None = "open",
                            integration: uuid.UUID | None = None,
                            limit: int = 50) -> list[DeadLetterPublic]:
    return (await dead_letters_page(services, caller, status, integration, limit)).items


async def dead_letters_page(services: Services, caller: Caller, status: str | None = "open",
                            integration: uuid.UUID | None = None, limit: int = 50,
                            cursor: str | None = None) -> paging.Page[DeadLetterPublic]:
    limit = max(1, min(limit, MAX_RUNS))
    query = select(WorkflowDeadLetter)
    if status:
        query = query.where(WorkflowDeadLetter.status == status)
    if integration is not None:
        query = query.where(WorkflowDeadLetter.integration_id == integration)
    query = paging.keyset(query, WorkflowDeadLetter.created_at, WorkflowDeadLetter.id, cursor,
                          limit)
    async with services.db.session(caller.tenant_id) as session:
        rows = list((await session.scalars(query)).all())
    return paging.Page[DeadLetterPublic](
        items=[DeadLetterPublic.model_validate(r) for r in rows[:limit]],
        next_cursor=paging.next_cursor(rows, limit))


async def replay_dead_letter_event(services: Services, caller: Caller,
                                   letter_id: uuid.UUID) -> DeadLetterPublic:
    """Offer the event to the workflows again: ``replayed`` with the runs it started, or
    still ``open`` with why no workflow took it."""
    require(caller, Role.member, "replaying a dead-lettered event")
    letter = await replay_dead_letter(services.db, services.queue, caller.tenant_id,
                                      letter_id)
    if letter is None:
        raise NotFound(f"no dead-lettered event {letter_id}")
    async with services.db.transaction(caller.tenant_id) as session:
        audit(session, caller, "workflow_dead_letter.replay", "workflow_dead_letter",
              letter_id, status=letter.status, runs=letter.runs)
    return DeadLetterPublic.model_validate(letter)


async def discard_dead_letter(services: Services, caller: Caller,
                              letter_id: uuid.UUID) -> DeadLetterPublic:
    require(caller, Role.member, "discarding a dead-lettered event")
    async with services.db.transaction(caller.tenant_id) as session:
        letter = await session.get(WorkflowDeadLetter, letter_id, with_for_update=True)
        if letter is None:
            raise NotFound(f"no dead-lettered event {letter_id}")
        letter.status = "discarded"
        audit(session, caller, "workflow_dead_letter.discard", "workflow_dead_letter",
              letter_id)
        await session.flush()
        return DeadLetterPublic.model_validate(letter)
