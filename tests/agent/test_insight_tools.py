"""The agent's insight tools: open insights from the store (their ids as sources), and an
insight resolved only after a person confirms."""

from __future__ import annotations

import uuid

import agent
from store.accounts import Caller
from store.models import ConnectusInsight
from tests.agent.scripted import ScriptedModel, call, say
from tools.context import Services


async def _insight(services: Services, owner: Caller, title: str, resolved: bool) -> uuid.UUID:
    async with services.db.transaction(owner.tenant_id) as session:
        row = ConnectusInsight(tenant_id=owner.tenant_id, insight_type="warning",
                               priority="high", title=title, description="three syncs failed",
                               recommendation="reconnect HubSpot", detector="failing_syncs",
                               fingerprint=uuid.uuid4().hex, is_resolved=resolved)
        session.add(row)
    return row.id


async def test_open_insights_are_read_then_one_is_resolved_after_confirming(
        services: Services, owner: Caller) -> None:
    failing = await _insight(services, owner, "HubSpot syncs are failing", resolved=False)
    await _insight(services, owner, "An old one", resolved=True)
    model = ScriptedModel(script=[call("list_insights"), say("one open"),
                                  call("resolve_insight", insight="hubspot syncs failing"),
                                  say("confirm?"), say("resolved")])
    asked = await agent.ask(services, owner, "what's wrong?", model=model)
    [listed] = asked.tool_calls
    assert [i["title"] for i in listed["result"]["insights"]] == ["HubSpot syncs are failing"]
    assert asked.sources == [str(failing)]

    proposed = await agent.ask(services, owner, "resolve it", asked.thread_id, model=model)
    assert proposed.pending is not None and proposed.pending["tool"] == "resolve_insight"
    async with services.db.session(owner.tenant_id) as session:
        assert (await session.get(ConnectusInsight, failing)).is_resolved is False  # type: ignore[union-attr]
    await agent.confirm(services, owner, uuid.UUID(proposed.pending["id"]), model=model)
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(ConnectusInsight, failing)
    assert row is not None and row.is_resolved and row.resolved_by == "person"
