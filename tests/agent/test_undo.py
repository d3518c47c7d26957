"""Every confirmed write records its inverse where one exists: a create undoes as a delete,
an update as the previous values; a write without one says so."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

import agent
from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import DataFlow
from tests.agent.scripted import ScriptedModel, call, say
from tools import confirmations
from tools.context import Services


async def _confirmed(services: Services, caller: Caller, model: ScriptedModel,
                     question: str, thread: str | None = None) -> agent.Answer:
    asked = await agent.ask(services, caller, question, thread, model=model)
    assert asked.pending is not None, asked.text
    model.script.append(say("done"))
    return await agent.confirm(services, caller, uuid.UUID(asked.pending["id"]), model=model)


async def _flows(services: Services, caller: Caller) -> list[str]:
    async with services.db.session(caller.tenant_id) as session:
        return sorted((await session.scalars(select(DataFlow.name))).all())


async def test_a_created_flow_is_deleted_by_undo(services: Services, owner: Caller,
                                                 hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call(
        "create_data_flow", integration="hubspot", name="Leads", direction="inbound",
        source_fields=["email"], target_fields=["email"], sync_frequency="hourly")])
    made = await _confirmed(services, owner, model, "copy hubspot emails hourly into Leads")
    assert await _flows(services, owner) == ["Contacts Sync", "Leads"]
    action = made.tool_calls[-1]["result"]["action"]
    assert made.tool_calls[-1]["result"]["undo"] == "delete data flow 'Leads' again"

    model.script.append(call("undo", "call_undo", action=action))
    await _confirmed(services, owner, model, "undo that", made.thread_id)
    assert await _flows(services, owner) == ["Contacts Sync"]
    again = await confirmations.load(services, owner, uuid.UUID(action))
    assert again.status == "undone"
    with pytest.raises(ValidationFailed, match="is undone, so there is nothing to undo"):
        await confirmations.plan_undo(services, owner,
                                      confirmations.UndoArgs(action=uuid.UUID(action)))


async def test_a_sync_has_no_undo(services: Services, owner: Caller,
                                  hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("sync_now", data_flow="contacts")])
    done = await _confirmed(services, owner, model, "sync the contacts flow")
    action = uuid.UUID(done.tool_calls[-1]["result"]["action"])
    assert done.tool_calls[-1]["result"]["undo"] is None
    with pytest.raises(ValidationFailed, match="cannot be undone"):
        await confirmations.plan_undo(services, owner, confirmations.UndoArgs(action=action))


async def test_undo_last_is_the_person_s_newest_write(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    """"undo that" without an id (what the offline model passes) means the newest write."""
    with pytest.raises(ValidationFailed, match="no write that can be undone"):
        await confirmations.plan_undo(services, owner, confirmations.UndoArgs(action="last"))
    model = ScriptedModel(script=[call(
        "create_data_flow", integration="hubspot", name="Leads", direction="inbound",
        source_fields=["email"], target_fields=["email"], sync_frequency="hourly")])
    made = await _confirmed(services, owner, model, "copy hubspot emails hourly into Leads")
    model.script.append(call("undo", "call_undo", action="last"))
    undone = await _confirmed(services, owner, model, "undo that", made.thread_id)
    assert undone.tool_calls[-1]["args"] == {"action": "last"}
    assert await _flows(services, owner) == ["Contacts Sync"]
    with pytest.raises(ValidationFailed, match="is undone, so there is nothing to undo"):
        await confirmations.plan_undo(services, owner, confirmations.UndoArgs(action="last"))
