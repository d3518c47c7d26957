"""The tool contract (names and argument names the evals rely on), and tool errors a person
could fix going back to the model as messages instead of failing the turn."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

import agent
from agent.graph import STEP_LIMIT
from agent.prompts import STEP_LIMIT_ANSWER
from store.accounts import Caller, create_user
from store.models import AgentConfirmation, Role
from tests.agent.scripted import ScriptedModel, call, last_tool_result, say
from tools.context import Services
from tools.registry import TOOLS

CONTRACT = {
    "list_providers": set(), "get_provider": {"provider"}, "list_integrations": set(),
    "get_integration": {"integration"}, "test_connection": {"integration"},
    "list_data_flows": {"integration"}, "test_mapping": {"data_flow"},
    "list_workflows": {"integration"}, "workflow_runs": {"workflow"},
    "explain_failure": {"integration", "data_flow", "workflow"},
    "health_summary": set(), "health_logs": {"integration", "severity", "since"},
    "api_usage": {"integration"}, "list_insights": {"integration"},
    "recommendations": {"integration"}, "resolve_insight": {"insight"},
    "search_knowledge": {"query"},
    "create_integration": {"provider", "name"}, "update_integration": {"integration"},
    "delete_integration": {"integration"}, "sync_now": {"integration", "data_flow"},
    "create_data_flow": {"integration", "name", "direction", "source_fields",
                         "target_fields", "sync_frequency"},
    "update_data_flow": {"data_flow"},
    "create_workflow": {"integration", "name", "trigger_type", "trigger_config", "actions"},
    "execute_workflow": {"workflow"}, "replay_failed_records": {"data_flow"},
    "resolve_conflict": {"conflict", "keep"}, "undo": {"action"},
}


def _error(text: str) -> dict:
    return json.loads(text.split("\n", 1)[1])["error"]


def test_every_tool_keeps_its_name_and_arguments() -> None:
    assert set(TOOLS) == set(CONTRACT)
    for name, args in CONTRACT.items():
        schema = TOOLS[name].schema()["function"]
        assert schema["name"] == name and schema["description"]
        assert args <= set(schema["parameters"].get("properties", {})), name
    keys = TOOLS["get_provider"].schema()["function"]["parameters"]["properties"]["provider"]
    assert set(keys["enum"]) == {"hubspot", "salesforce", "mailchimp", "slack", "google_ads",
                                 "facebook_ads", "zapier"}  # an enum the model can see


async def test_fixable_errors_go_back_to_the_model(services: Services, owner: Caller,
                                                   hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    texts: list[str] = []

    def note(messages: list) -> object:
        texts.append(last_tool_result(messages))
        return say("noted")

    model = ScriptedModel(script=[
        call("get_integration", integration="zendesk"), note,
        call("get_provider", provider="myspace"), note,
        call("drop_database"), note,
    ])
    for question in ("zendesk?", "myspace?", "drop it"):
        answer = await agent.ask(services, owner, question, model=model)
        assert answer.text == "noted"
    unknown, invalid, missing = (_error(t) for t in texts)
    assert unknown["code"] == "invalid" and "no integration is called 'zendesk'" in \
        unknown["message"]
    assert unknown["details"][0]["candidates"][0]["name"] == "HubSpot (sandbox)"
    assert invalid["code"] == "invalid" and invalid["details"][0]["field"] == "provider"
    assert missing["code"] == "unknown_tool"


async def test_a_viewer_is_told_no_and_nothing_is_proposed(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    async with services.db.transaction(owner.tenant_id) as session:
        user = await create_user(session, owner.tenant_id, "v@acme.example", Role.viewer)
    viewer = Caller(tenant_id=owner.tenant_id, user_id=user.id, role=Role.viewer)
    model = ScriptedModel(script=[call("sync_now", integration="hubspot"),
                                  lambda messages: say(_error(last_tool_result(messages))
                                                       ["message"])])
    answer = await agent.ask(services, viewer, "sync hubspot", model=model)
    assert answer.pending is None
    assert answer.text == "sync_now needs the member role; you are viewer"
    async with services.db.session(owner.tenant_id) as session:
        assert await session.scalar(select(func.count()).select_from(AgentConfirmation)) == 0


async def test_a_model_that_never_stops_is_stopped(services: Services, owner: Caller,
                                                   hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("list_integrations", f"c{n}") for n in range(50)])
    answer = await agent.ask(services, owner, "loop", model=model)
    assert answer.text == STEP_LIMIT_ANSWER
    assert len(answer.tool_calls) < STEP_LIMIT


async def test_stream_yields_tool_steps_then_the_answer(
        services: Services, owner: Caller, hubspot: tuple[uuid.UUID, uuid.UUID]) -> None:
    model = ScriptedModel(script=[call("list_integrations"), say("One integration.")])
    events = [e async for e in agent.stream(services, owner, "how many?", model=model)]
    kinds = [e.kind for e in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("answer")
    assert any(e.kind == "token" and e.data["text"] == "One integration." for e in events)
    assert events[-1].answer is not None and events[-1].answer.text == "One integration."
