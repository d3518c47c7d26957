"""Reads answer at once; every write stops with a preview until a person confirms."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

import agent
from store.accounts import Caller
from store.models import AgentConfirmation, AuditLog, Integration, SyncRun
from tests.agent.scripted import ScriptedModel, call, last_tool_result, say
from tools.context import Services


async def _runs(services: Services, caller: Caller) -> int:
    async with services.db.session(caller.tenant_id) as session:
        return await session.scalar(select(func.count()).select_from(SyncRun)) or 0


async def test_a_read_is_answered_from_the_real_rows(services: Services, owner: Caller,
                                                     hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    def answer(messages: list) -> object:
        rows = json.loads(last_tool_result(messages).split("\n", 1)[1])
        return say(", ".join(f"{r['name']}: {r['health_score']}" for r in rows))

    model = ScriptedModel(script=[call("list_integrations"), answer])
    result = await agent.ask(services, owner, "How healthy are my integrations?", model=model)
    assert result.text == "HubSpot (sandbox): 100"
    assert [c["name"] for c in result.tool_calls] == ["list_integrations"]
    assert result.tool_calls[0]["result"][0]["id"] == str(hubspot[0])
    assert result.pending is None and result.thread_id
    assert "sync_now" in model.tool_names and "credential_hint" not in last_tool_result(
        model.seen[-1])


async def test_sync_now_stops_with_a_preview_and_runs_only_after_confirm(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("sync_now", integration="hubspt")])
    asked = await agent.ask(services, owner, "sync HubSpot now", model=model)
    pending = asked.pending
    assert pending is not None and pending["tool"] == "sync_now"
    assert pending["status"] == "pending" and pending["needs_role"] == "member"
    preview = pending["preview"]
    assert preview["summary"] == "Sync 1 data flow(s) of 'HubSpot (sandbox)' now"
    assert preview["changes"][0]["object"] == "data flow 'Contacts Sync'"
    assert preview["api_calls"] >= 1
    assert await _runs(services, owner) == 0  # nothing written before the confirmation
    assert asked.tool_calls[0]["args"] == {"integration": "hubspt"}  # as the model passed it

    model.script += [say("Started.")]
    done = await agent.confirm(services, owner, uuid.UUID(pending["id"]), model=model)
    assert done.text == "Started." and done.pending is None
    assert await _runs(services, owner) == 1
    assert done.thread_id == asked.thread_id


async def test_cancel_writes_nothing(services: Services, owner: Caller,
                                     hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("update_integration", integration="HubSpot",
                                       status="inactive")])
    asked = await agent.ask(services, owner, "pause hubspot", model=model)
    assert asked.pending is not None
    assert asked.pending["preview"]["changes"] == [{
        "object": "integration 'HubSpot (sandbox)'", "field": "status", "before": "pending",
        "after": "inactive"}]
    model.script += [lambda messages: say(last_tool_result(messages))]
    cancelled = await agent.cancel(services, owner, uuid.UUID(asked.pending["id"]), model=model)
    assert "nothing was written" in cancelled.text
    async with services.db.session(owner.tenant_id) as session:
        status = await session.scalar(select(Integration.status))
        audits = await session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "integration.update"))
    assert (status, audits) == ("pending", 0)


async def test_a_new_question_sets_a_waiting_write_aside(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("sync_now", integration="hubspot")])
    asked = await agent.ask(services, owner, "sync HubSpot now", model=model)
    assert asked.pending is not None
    model.script.append(say("Fine, no sync. You have one integration."))
    moved_on = await agent.ask(services, owner, "actually, how many integrations?",
                               asked.thread_id, model=model)
    assert moved_on.pending is None and moved_on.text.startswith("Fine, no sync")
    told = [str(m.content) for m in model.seen[-1] if m.type == "tool"]
    assert "the person asked something else instead; nothing was written" in told[-1]
    assert await _runs(services, owner) == 0
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(AgentConfirmation, uuid.UUID(asked.pending["id"]))
    assert row is not None and row.status == "cancelled"
