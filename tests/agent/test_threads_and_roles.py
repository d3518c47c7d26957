"""Threads remember across turns (real PostgreSQL checkpointer) and stay in their tenant;
a big write needs an admin; an undo reverses a pause."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

import agent
from store.accounts import Caller, create_user
from store.errors import NotFound, PermissionDenied
from store.models import AgentConfirmation, Integration, Role, SyncRun
from tests.agent.scripted import ScriptedModel, call, say
from tests.conftest import make_tenant
from tools.context import Services


def _human_texts(messages: list) -> list[str]:
    return [str(m.content) for m in messages if m.type == "human"]


async def test_a_follow_up_turn_sees_the_thread(services: Services, owner: Caller,
                                                hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    first = await agent.ask(services, owner, "How is HubSpot?", model=ScriptedModel(
        script=[call("get_integration", integration="hubspot"), say("HubSpot is at 100.")]))
    later = ScriptedModel(script=[say("Still 100.")])  # a fresh model: no memory of its own
    second = await agent.ask(services, owner, "and now?", first.thread_id, model=later)
    assert second.thread_id == first.thread_id and second.text == "Still 100."
    seen = later.seen[0]
    assert _human_texts(seen) == ["How is HubSpot?", "and now?"]
    assert any(m.type == "tool" and "get_integration" in str(m.content) for m in seen)


async def test_another_tenant_can_neither_resume_a_thread_nor_confirm(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    asked = await agent.ask(services, owner, "sync hubspot", "shared-name", model=ScriptedModel(
        script=[call("sync_now", integration="hubspot")]))
    assert asked.pending is not None
    other, _ = await make_tenant(services, "globex")
    theirs = ScriptedModel(script=[say("Nothing here.")])
    await agent.ask(services, other, "what did we say?", "shared-name", model=theirs)
    assert _human_texts(theirs.seen[0]) == ["what did we say?"]
    with pytest.raises(NotFound):
        await agent.confirm(services, other, uuid.UUID(asked.pending["id"]), model=theirs)
    async with services.db.session(owner.tenant_id) as session:
        assert await session.scalar(select(SyncRun.id)) is None
        row = await session.get(AgentConfirmation, uuid.UUID(asked.pending["id"]))
    assert row is not None and row.status == "pending"


async def test_a_write_over_the_quota_share_needs_an_admin(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    async with services.db.transaction(owner.tenant_id) as session:
        await session.execute(update(Integration).values(api_calls_limit=10, api_calls_today=9))
        user = await create_user(session, owner.tenant_id, "m@acme.example", Role.member)
    member = Caller(tenant_id=owner.tenant_id, user_id=user.id, role=Role.member)
    asked = await agent.ask(services, member, "sync hubspot now", model=ScriptedModel(
        script=[call("sync_now", integration="HubSpot")]))
    assert asked.pending is not None
    preview = asked.pending["preview"]
    assert asked.pending["needs_role"] == "admin" and preview["quota_share"] == 1.0
    assert any("an admin must confirm" in note for note in preview["notes"])
    with pytest.raises(PermissionDenied):
        await agent.confirm(services, member, uuid.UUID(asked.pending["id"]),
                            model=ScriptedModel(script=[]))
    done = await agent.confirm(services, owner, uuid.UUID(asked.pending["id"]),
                               model=ScriptedModel(script=[say("Started.")]))
    assert done.text == "Started."


async def test_undo_reverses_a_paused_integration(services: Services, owner: Caller,
                                                  hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    async def status() -> str | None:
        async with services.db.session(owner.tenant_id) as session:
            return await session.scalar(select(Integration.status))

    model = ScriptedModel(script=[call("update_integration", integration="hubspot",
                                       status="inactive")])
    paused = await agent.ask(services, owner, "pause hubspot", model=model)
    assert paused.pending is not None
    action = paused.pending["id"]
    model.script.append(say("Paused."))
    done = await agent.confirm(services, owner, uuid.UUID(action), model=model)
    assert await status() == "inactive"
    assert done.tool_calls[-1]["result"]["undo"] == "put status of 'HubSpot (sandbox)' back"

    model.script.append(call("undo", "call_undo", action=action))
    undo = await agent.ask(services, owner, "undo that", done.thread_id, model=model)
    assert undo.pending is not None
    assert undo.pending["preview"]["changes"][0] | {"object": None} == {
        "object": None, "field": "status", "before": "inactive", "after": "pending"}
    assert await status() == "inactive"  # an undo is a write: confirmed first
    model.script.append(say("Back as it was."))
    await agent.confirm(services, owner, uuid.UUID(undo.pending["id"]), model=model)
    assert await status() == "pending"
    async with services.db.session(owner.tenant_id) as session:
        original = await session.get(AgentConfirmation, uuid.UUID(action))
    assert original is not None and original.status == "undone"
