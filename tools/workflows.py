"""Configuring workflows: list, create, get, update, delete, execute; and the action library.

Everything a workflow says is checked on save (jobs/workflows/config.py) against what
the tenant has: the trigger (a webhook event its integration sends, a cron and time
zone, a condition check), the conditions, and each action's parameters, templates and
references (the Slack integration, named when the tenant has more than one; the data
flow to sync), every error naming its JSON path. Nothing is half-saved.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import MISSING, AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from jobs.workflows.actions import Directory, FlowRef, IntegrationRef, describe
from jobs.workflows.config import check_workflow
from jobs.workflows.runner import dry_run, enqueue
from store.accounts import Caller
from store.errors import Conflict, NotFound, TransientError, ValidationFailed
from store.models import DataFlow, Integration, IntegrationProvider, Role, WorkflowAutomation
from store.models import WorkflowRun as WorkflowRunRow
from store.models.base import utcnow
from store.queries import find_integration, load_integration
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.fields import MAX_JSON_BYTES, JsonObject, Name, PartialUpdate
from tools.workflow_runs import WorkflowRunPublic, run_public

TriggerType = Literal["webhook", "schedule", "condition", "manual"]
WorkflowStatus = Literal["active", "paused", "draft"]

__all__ = ["ExecuteRequest", "ExecuteResult", "WorkflowCreate", "WorkflowPublic",
           "WorkflowUpdate", "create_workflow", "delete_workflow", "execute_workflow",
           "get_workflow", "list_actions", "list_workflows", "update_workflow",
           "validate_workflow"]


def _bounded_list(value: list[Any]) -> list[Any]:
    if len(json.dumps(value)) > MAX_JSON_BYTES:
        raise ValueError(f"is larger than {MAX_JSON_BYTES // 1024} KiB as JSON")
    return value


Actions = Annotated[list[Any], Field(max_length=50), AfterValidator(_bounded_list)]


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: uuid.UUID = Field(description="the integration whose events (or state) "
                                               "trigger the workflow")
    name: Name
    trigger_type: TriggerType
    trigger_config: JsonObject = Field(default_factory=dict, description=(
        '{"event": "contact.creation"} (webhook), {"cron": "0 9 * * 1-5", "timezone": '
        '"Europe/Berlin"} (schedule), {"check": "health_below", "threshold": 60} or '
        '{"check": "sync_failed"} (condition), {} (manual)'))
    conditions: JsonObject = Field(default_factory=dict, description=(
        '{"all": [{"field": "record.properties.email", "op": "contains", "value": "@"}]}'))
    actions: Actions = Field(description=(
        '[{"type": "create_contact", "target": "digisol_crm"}, {"type": '
        '"send_notification", "channel": "slack"}]; GET /integrations/workflows/actions/ '
        "lists the types and their parameters"))
    status: WorkflowStatus = "active"


class WorkflowUpdate(PartialUpdate):
    integration: uuid.UUID | MISSING = MISSING
    name: Name | MISSING = MISSING
    trigger_type: TriggerType | MISSING = MISSING
    trigger_config: JsonObject | MISSING = MISSING
    conditions: JsonObject | MISSING = MISSING
    actions: Actions | MISSING = MISSING
    status: WorkflowStatus | MISSING = MISSING


class WorkflowPublic(BaseModel):
    id: uuid.UUID
    integration: uuid.UUID
    name: str
    trigger_type: str
    trigger_config: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[Any]
    status: str
    execution_count: int
    success_count: int
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: JsonObject | None = Field(None, description=(
        "a sample event, as the provider sends it (HubSpot: {\"objectId\": 51, ...}); "
        "the record it names is read as for a real event"))
    dry_run: bool = Field(False, description="show what would happen, and do nothing")


class ExecuteResult(BaseModel):
    run: WorkflowRunPublic | None = Field(None, description="the queued run")
    dry_run: dict[str, Any] | None = Field(None, description=(
        "conditions_met, the record, and each step's parameters after templating"))


def to_public(row: WorkflowAutomation) -> WorkflowPublic:
    return WorkflowPublic(
        id=row.id, integration=row.integration_id, name=row.name,
        trigger_type=row.trigger_type, trigger_config=row.trigger_config,
        conditions=row.conditions, actions=row.actions, status=row.status,
        execution_count=row.execution_count, success_count=row.success_count,
        next_run_at=row.next_run_at, last_run_at=row.last_run_at, created_at=row.created_at,
        updated_at=row.updated_at)


def list_actions() -> list[dict[str, Any]]:
    """Every action type with a summary and its parameters as JSON Schema."""
    return describe()


async def _load(session: Any, workflow_id: uuid.UUID) -> WorkflowAutomation:
    found = await session.get(WorkflowAutomation, workflow_id)
    if found is None:
        raise NotFound(f"no workflow {workflow_id}")
    return found


async def _directory(services: Services, caller: Caller,
                     integration_id: uuid.UUID) -> tuple[Directory, IntegrationRef, list[str]]:
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.execute(
            select(Integration.id, Integration.name, Integration.settings,
                   IntegrationProvider.name, IntegrationProvider.webhook_events)
            .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
        )).all()
        flows = (await session.execute(
            select(DataFlow.id, DataFlow.name, DataFlow.integration_id))).all()
    refs = tuple(IntegrationRef(r[0], r[1], r[3], dict(r[2] or {})) for r in rows)
    trigger = next((r for r in refs if r.id == integration_id), None)
    if trigger is None:
        raise ValidationFailed(f"no integration {integration_id}", field="integration")
    events = next(list(r[4] or []) for r in rows if r[0] == integration_id)
    return Directory(refs, tuple(FlowRef(*f) for f in flows)), trigger, events


async def _configure(services: Services, caller: Caller, row: WorkflowAutomation,
                     config: dict[str, Any]) -> None:
    """Check the whole configuration and set it on ``row``; raises before any change."""
    directory, trigger, events = await _directory(services, caller, config["integration_id"])
    checked = await check_workflow(
        config["trigger_type"], config["trigger_config"], config["conditions"],
        config["actions"], trigger, directory, known_events=events,
        allow_private=services.settings.allow_private_urls)
    trigger_changed = (row.trigger_type, row.trigger_config, row.integration_id) != (
        config["trigger_type"], checked.trigger_config, config["integration_id"])
    row.integration_id, row.name = config["integration_id"], config["name"]
    row.trigger_type, row.trigger_config = config["trigger_type"], checked.trigger_config
    row.trigger_event, row.conditions = checked.trigger_event, checked.conditions
    row.actions, row.status = checked.actions, config["status"]
    row.next_run_at = checked.next_run_at if row.status == "active" else None
    if trigger_changed:  # a condition trigger looks only at what happens from now on
        row.trigger_state = {"since": utcnow().isoformat()}


async def _save(session: Any, row: WorkflowAutomation) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a workflow named {row.name!r} already exists") from None


async def list_workflows(services: Services, caller: Caller,
                         integration: uuid.UUID | None = None, status: str | None = None,
                         trigger_type: str | None = None) -> list[WorkflowPublic]:
    query = _workflows(integration, status, trigger_type).order_by(
        WorkflowAutomation.created_at)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.scalars(query)).all()
    return [to_public(row) for row in rows]


async def workflows_page(services: Services, caller: Caller,
                         integration: uuid.UUID | None = None, status: str | None = None,
                         trigger_type: str | None = None, cursor: str | None = None,
                         limit: int = paging.DEFAULT_LIMIT) -> paging.Page[WorkflowPublic]:
    """One page of them, oldest first, as REST lists them."""
    query = paging.keyset(_workflows(integration, status, trigger_type),
                          WorkflowAutomation.created_at, WorkflowAutomation.id, cursor, limit,
                          oldest_first=True)
    async with services.db.session(caller.tenant_id) as session:
        rows = list((await session.scalars(query)).all())
    return paging.Page[WorkflowPublic](items=[to_public(row) for row in rows[:limit]],
                                       next_cursor=paging.next_cursor(rows, limit))


def _workflows(integration: uuid.UUID | None, status: str | None,
               trigger_type: str | None) -> Select[Any]:
    query = select(WorkflowAutomation)
    if integration is not None:
        query = query.where(WorkflowAutomation.integration_id == integration)
    if status:
        query = query.where(WorkflowAutomation.status == status)
    if trigger_type:
        query = query.where(WorkflowAutomation.trigger_type == trigger_type)
    return query


async def get_workflow(services: Services, caller: Caller,
                       workflow_id: uuid.UUID) -> WorkflowPublic:
    async with services.db.session(caller.tenant_id) as session:
        return to_public(await _load(session, workflow_id))


async def create_workflow(services: Services, caller: Caller,
                          data: WorkflowCreate) -> WorkflowPublic:
    require(caller, Role.admin, "creating a workflow")
    config = data.model_dump(exclude={"integration"})
    config["integration_id"] = data.integration
    row = WorkflowAutomation(tenant_id=caller.tenant_id)
    await _configure(services, caller, row, config)
    async with services.db.transaction(caller.tenant_id) as session:
        await load_integration(session, data.integration)  # still there, in this transaction
        session.add(row)
        await _save(session, row)
        audit(session, caller, "workflow.create", "workflow", row.id, name=row.name,
              trigger=row.trigger_type, actions=[a["type"] for a in row.actions])
        await session.refresh(row)
        return to_public(row)


async def validate_workflow(services: Services, caller: Caller,
                            data: WorkflowCreate) -> WorkflowPublic:
    """Check a draft as create_workflow would, and save nothing: what a form calls as a
    person types (a ValidationFailed names the JSON path that is wrong)."""
    config = data.model_dump(exclude={"integration"})
    config["integration_id"] = data.integration
    row = WorkflowAutomation(tenant_id=caller.tenant_id, id=uuid.uuid4(), execution_count=0,
                             success_count=0, created_at=utcnow(), updated_at=utcnow())
    await _configure(services, caller, row, config)
    return to_public(row)


async def update_workflow(services: Services, caller: Caller, workflow_id: uuid.UUID,
                          data: WorkflowUpdate) -> WorkflowPublic:
    require(caller, Role.admin, "changing a workflow")
    changed = data.model_dump(exclude_unset=True)
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, workflow_id)
        trigger_type = changed.get("trigger_type", row.trigger_type)
        config = {"integration_id": changed.pop("integration", row.integration_id),
                  "name": row.name, "trigger_type": trigger_type,
                  "trigger_config": row.trigger_config if trigger_type == row.trigger_type
                  else {}, "conditions": row.conditions, "actions": row.actions,
                  "status": row.status, **changed}
        await _configure(services, caller, row, config)
        await _save(session, row)
        audit(session, caller, "workflow.update", "workflow", row.id, changed=sorted(changed))
        await session.refresh(row)
        return to_public(row)


async def delete_workflow(services: Services, caller: Caller, workflow_id: uuid.UUID) -> None:
    """The workflow and, with it, its runs."""
    require(caller, Role.admin, "deleting a workflow")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, workflow_id)
        audit(session, caller, "workflow.delete", "workflow", row.id, name=row.name)
        await session.delete(row)


async def execute_workflow(services: Services, caller: Caller, workflow_id: uuid.UUID,
                           body: ExecuteRequest | None = None) -> ExecuteResult:
    """Queue a run now, with the sample payload as its event; or, with ``dry_run``, show
    what a run would do and change nothing."""
    require(caller, Role.member, "executing a workflow")
    body = body or ExecuteRequest()
    async with services.db.session(caller.tenant_id) as session:
        row = await _load(session, workflow_id)
        found = await find_integration(session, row.integration_id)
    if found is None:
        raise NotFound(f"the workflow's integration {row.integration_id} is gone")
    given = {"type": row.trigger_event or row.trigger_type, "fired_at": utcnow().isoformat(),
             "payload": body.payload or {}}
    run = WorkflowRunRow(id=uuid.uuid4(), tenant_id=caller.tenant_id, workflow_id=row.id,
                         status="queued", trigger="manual", input=given, context={}, steps=[],
                         started_at=utcnow())
    if body.dry_run:
        ctx = {"db": services.db, "vault": services.vault, "redis": services.queue,
               "allow_private": services.settings.allow_private_urls}
        return ExecuteResult(dry_run=await dry_run(ctx, run, row, *found))
    if services.queue is None:
        raise TransientError("the job queue is not reachable, so no run can be queued")
    async with services.db.transaction(caller.tenant_id) as session:
        session.add(run)
        await session.flush()
        audit(session, caller, "workflow.execute", "workflow", row.id, run=str(run.id))
    await enqueue(services.queue, run.id)
    return ExecuteResult(run=run_public(run))
