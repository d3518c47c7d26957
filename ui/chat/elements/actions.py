"""What an element's buttons do: each ``callAction`` name with its typed payload and the
operation it runs, for the logged-in caller (the payload never names who acts).

Reads (test a connection, preview a mapping, check a workflow draft) answer at once.
Writes the agent has a tool for (sync now, save a mapping, create a workflow) run as that
tool called by the person (agent/clicks.py), so they stop for the same confirmation card
a typed request gets. Two writes run directly: resolving a health log (what REST does),
and adding an integration with its credentials, which must never sit in a confirmation,
a thread or a prop; the form's payload goes straight to the create operation.

Every handler answers ``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}`` naming
the field at fault, so an element can show what is wrong where.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.ask import Answer
from agent.clicks import click
from tools import flow_dry_run, health_logs, integrations, oauth_flow, workflows
from tools.context import Caller, ConnectusError, Services
from ui.chat.elements import props


@dataclass
class Reply:
    """A handler's answer: ``data`` goes back to the element; ``pending`` is a write
    waiting for the confirmation card, ``text`` the agent's words for the chat."""

    data: dict[str, Any]
    answer: Answer | None = None  # a write's: its pending confirmation, or what was done
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> dict[str, Any] | None:
        return self.answer.pending if self.answer else None

    @property
    def text(self) -> str:
        return self.answer.text if self.answer else ""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntegrationPayload(Payload):
    integration_id: uuid.UUID


class LogPayload(Payload):
    log_id: uuid.UUID
    note: str = Field(min_length=1, max_length=2000)


class MappingRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=200)
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class MappingPayload(Payload):
    flow_id: uuid.UUID
    rows: list[MappingRow] = Field(max_length=500)


class WorkflowDraft(Payload):
    integration: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    trigger_type: Literal["webhook", "schedule", "condition", "manual"]
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    conditions: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(max_length=50)


class AddProvider(Payload):
    provider: str = Field(min_length=1, max_length=50)
    name: str = Field(min_length=1, max_length=100)
    credentials: dict[str, str] = Field(default_factory=dict, max_length=10)
    redirect_uri: str | None = Field(None, max_length=2000, description="OAuth providers: "
                                     "this server's /integrations/oauth/callback/")


def _mapping(rows: list[MappingRow]) -> dict[str, Any]:
    return {"source_fields": [r.source for r in rows], "target_fields": [r.target for r in rows],
            "transformation_rules": {r.target: r.rules for r in rows if r.rules}}


async def _write(services: Services, caller: Caller, thread_id: str | None, tool: str,
                 args: dict[str, Any], said: str) -> Reply:
    answer, steps = None, []
    async for event in click(services, caller, tool, args, said, thread_id):
        if event.kind in ("tool_call", "tool_result"):
            steps.append({"kind": event.kind, **event.data})
        answer = event.answer or answer
    return Reply({"pending": bool(answer and answer.pending)}, answer=answer, steps=steps)


async def dashboard_refresh(services: Services, caller: Caller, thread_id: str | None,
                            _: Payload) -> Reply:
    return Reply({"props": await props.dashboard(services, caller)})


async def test_connection(services: Services, caller: Caller, thread_id: str | None,
                          body: IntegrationPayload) -> Reply:
    report = await integrations.test_connection(services, caller, body.integration_id)
    return Reply({"report": report.model_dump(mode="json"),
                  "props": await props.dashboard(services, caller)})


async def integration_details(services: Services, caller: Caller, thread_id: str | None,
                              body: IntegrationPayload) -> Reply:
    row = await integrations.get_integration(services, caller, body.integration_id)
    return Reply({"details": row.model_dump(mode="json", exclude={"settings"})})


async def sync_now(services: Services, caller: Caller, thread_id: str | None,
                   body: IntegrationPayload) -> Reply:
    row = await integrations.get_integration(services, caller, body.integration_id)
    return await _write(services, caller, thread_id, "sync_now",
                        {"integration": str(row.id)}, f"Sync {row.name} now")


async def resolve_log(services: Services, caller: Caller, thread_id: str | None,
                      body: LogPayload) -> Reply:
    await health_logs.resolve_health_log(services, caller, body.log_id, body.note)
    return Reply({"props": await props.dashboard(services, caller)})


async def preview_mapping(services: Services, caller: Caller, thread_id: str | None,
                          body: MappingPayload) -> Reply:
    report = await flow_dry_run.test_mapping(services, caller, body.flow_id,
                                             flow_dry_run.TestMappingRequest(
                                                 mapping=flow_dry_run.MappingDraft(
                                                     **_mapping(body.rows))))
    return Reply({"preview": report.model_dump(mode="json")})


async def save_mapping(services: Services, caller: Caller, thread_id: str | None,
                       body: MappingPayload) -> Reply:
    return await _write(services, caller, thread_id, "update_data_flow",
                        {"data_flow": str(body.flow_id), **_mapping(body.rows)},
                        "Save the mapping I edited")


async def check_workflow(services: Services, caller: Caller, thread_id: str | None,
                         body: WorkflowDraft) -> Reply:
    checked = await workflows.validate_workflow(
        services, caller, workflows.WorkflowCreate(**body.model_dump(), status="active"))
    return Reply({"valid": True, "next_run_at": checked.next_run_at and
                  checked.next_run_at.isoformat(), "actions": checked.actions})


async def save_workflow(services: Services, caller: Caller, thread_id: str | None,
                        body: WorkflowDraft) -> Reply:
    args = {**body.model_dump(mode="json"), "integration": str(body.integration)}
    return await _write(services, caller, thread_id, "create_workflow", args,
                        f"Create the workflow {body.name!r} I built")


async def add_provider(services: Services, caller: Caller, thread_id: str | None,
                       body: AddProvider) -> Reply:
    """Create the integration with what the form gave; an OAuth provider then answers
    the consent URL to open. Only the masked hint comes back."""
    row = await integrations.create_integration(services, caller, integrations.IntegrationCreate(
        provider=body.provider, name=body.name, credentials=dict(body.credentials)))
    data: dict[str, Any] = {"integration": {"id": str(row.id), "name": row.name,
                                            "provider": row.provider, "status": row.status,
                                            "credential_hint": row.credential_hint}}
    if body.redirect_uri and "client_id" in body.credentials:
        start = await oauth_flow.start_connect(services, caller, row.id, body.redirect_uri)
        data["authorize_url"] = start.authorize_url
    return Reply(data)


Handler = Callable[[Services, Caller, str | None, Any], Awaitable[Reply]]
ACTIONS: dict[str, tuple[type[Payload], Handler]] = {
    "dashboard_refresh": (Payload, dashboard_refresh),
    "test_connection": (IntegrationPayload, test_connection),
    "integration_details": (IntegrationPayload, integration_details),
    "sync_now": (IntegrationPayload, sync_now),
    "resolve_log": (LogPayload, resolve_log),
    "preview_mapping": (MappingPayload, preview_mapping),
    "save_mapping": (MappingPayload, save_mapping),
    "check_workflow": (WorkflowDraft, check_workflow),
    "save_workflow": (WorkflowDraft, save_workflow),
    "add_provider": (AddProvider, add_provider),
}


def _error(code: str, message: str, field: str | None = None) -> Reply:
    return Reply({"ok": False, "error": {"code": code, "message": message, "field": field}})


async def run_action(services: Services, caller: Caller, thread_id: str | None, name: str,
                     payload: Any) -> Reply:
    """One element action, checked and run; errors a person can fix come back as data
    (a bug still propagates)."""
    found = ACTIONS.get(name)
    if found is None:
        return _error("unknown_action", f"there is no element action {name!r}", "name")
    model, handler = found
    try:
        body = model.model_validate(payload if isinstance(payload, dict) else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "payload"
        return _error("invalid", f"{where}: {first['msg']}", where)
    try:
        reply = await handler(services, caller, thread_id, body)
    except ConnectusError as exc:
        if exc.kind == "system":
            raise
        details = exc.details or [{}]
        return _error(exc.code, exc.message, details[0].get("field"))
    reply.data = {"ok": True, **reply.data}
    return reply
