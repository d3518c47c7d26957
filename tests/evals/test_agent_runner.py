"""`connectus eval`'s runner over a real database with the demo tenant.

``agent.ask`` (the LangGraph agent) is another engineer's part; these tests drive the
runner with a small tool loop of their own: the offline model bound to tools that call
the real operations in tools/, and writes that stop at a pending confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool

import agent
from agent.offline import OfflineChatModel
from connectors.sandbox.server import SandboxServer
from evals.agent.cases import Case
from evals.agent.contract import TOOLS, WRITE_TOOLS
from evals.agent.demo_tenant import demo_caller
from evals.agent.runner import agent_ask, run_cases
from store.accounts import Caller
from tools.context import ConfigError, Services
from tools.data_flows import list_data_flows
from tools.integrations import get_integration, list_integrations
from tools.providers import list_providers


@dataclass
class Answer:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[str, Any] | None = None


def loop_ask(threads: dict[str, list[BaseMessage]]) -> Any:
    """model <-> tools until an answer; real reads, writes stop for confirmation."""

    async def ask(services: Services, caller: Caller, question: str, thread_id: str | None,
                  *, model: Any = None) -> Answer:
        async def integrations() -> list[dict[str, Any]]:
            return [i.model_dump(mode="json", include={"name", "provider", "status",
                                                         "health_score"})
                    for i in await list_integrations(services, caller)]

        async def one(integration: str) -> dict[str, Any]:
            rows = await list_integrations(services, caller)
            match = next(r for r in rows if r.name.lower().startswith(integration.lower()))
            row = await get_integration(services, caller, match.id)
            return row.model_dump(mode="json", include={"name", "status", "health_score",
                                                        "api_calls_today"})

        async def providers() -> list[dict[str, Any]]:
            return [{"name": p.name} for p in await list_providers(services, caller)]

        run = {"list_integrations": integrations, "get_integration": one,
               "list_providers": providers}
        tools = [StructuredTool.from_function(func=lambda **_: "", name=name,
                                              description=doc, args_schema=schema)
                 for name, (schema, doc) in TOOLS.items()]
        bound = (model or OfflineChatModel()).bind_tools(tools)
        thread = threads.setdefault(thread_id or "", [])
        thread.append(HumanMessage(question))
        answer = Answer("")
        for _ in range(4):
            reply = bound.invoke(thread)
            assert isinstance(reply, AIMessage)
            thread.append(reply)
            if not reply.tool_calls:
                answer.text = str(reply.content)
                return answer
            for call in reply.tool_calls:
                if call["name"] in WRITE_TOOLS:
                    answer.pending = {"tool": call["name"], "args": call["args"]}
                    answer.text = "waiting for your confirmation"
                    return answer
                result = await run[call["name"]](**call["args"])
                answer.tool_calls.append({"name": call["name"], "args": call["args"],
                                          "result": result})
                thread.append(ToolMessage(json.dumps(result), tool_call_id=call["id"]))
        raise AssertionError("no answer in 4 steps")

    return ask


CASES = [
    Case("list", "List my integrations", "list_integrations", {}),
    Case("one", "How is Salesforce doing?", "get_integration", {"integration": "Salesforce"}),
    Case("follow", "and Slack?", "get_integration", {"integration": "Slack"},
         history=("Show me the HubSpot integration",)),
    Case("write", "sync Hubspt now", "sync_now", {"integration": "HubSpot"}),
    Case("providers", "which providers can I connect?", "list_providers", {},
         split="held_out"),
]


async def test_cases_run_on_the_demo_tenant_with_grounded_answers(
        services: Services, sandbox: SandboxServer) -> None:
    caller = await demo_caller(services, sandbox.url)
    assert (await demo_caller(services, sandbox.url)).tenant_id == caller.tenant_id  # found
    # with the week `connectus up` shows, so answers have logs and runs to state
    assert await list_data_flows(services, caller)
    result = await run_cases(services, caller, CASES, ask=loop_ask({}), repeat=2)
    assert result["tool_accuracy"] == 1.0 and result["arg_accuracy"] == 1.0
    assert result["pass_k"] == 1.0 and result["repeat"] == 2
    assert result["grounded"] == 1.0
    assert result["grounded_answers"] >= 4
    assert all(c["ungrounded"] == [] for c in result["cases"])
    assert by_id_grounded(result) == {"list": True, "one": True, "follow": True,
                                      "write": None, "providers": True}
    by_id = {c["id"]: c for c in result["cases"]}
    assert by_id["write"]["actual_tool"] == "sync_now"
    assert by_id["write"]["actual_tools"] == ["sync_now"]
    assert by_id["follow"]["actual_args"] == {"integration": "Slack"}
    # the figures are the database's: every demo integration's score is in the answer
    rows = await list_integrations(services, caller)
    assert len(rows) == 7
    for row in rows:
        assert row.name in by_id["list"]["answer"]
    assert f"health score {rows[0].health_score}" in by_id["list"]["answer"]


async def test_an_invented_figure_is_not_grounded(services: Services,
                                                  sandbox: SandboxServer) -> None:
    caller = await demo_caller(services, sandbox.url)

    async def boastful(*_: Any, **__: Any) -> Answer:
        return Answer("HubSpot is at 99 out of 100",
                      [{"name": "get_integration", "args": {"integration": "HubSpot"},
                        "result": {"name": "HubSpot (sandbox)", "health_score": 100}}])

    result = await run_cases(services, caller, CASES[1:2], ask=boastful)
    assert result["grounded"] == 0.0 and result["grounded_answers"] == 1
    row = result["cases"][0]  # the case says why: which figure no result holds
    assert row["grounded"] is False and row["ungrounded"] == ["99"]
    assert result["tool_accuracy"] == 1.0 and result["arg_accuracy"] == 0.0


def by_id_grounded(result: dict[str, Any]) -> dict[str, bool | None]:
    return {c["id"]: c["grounded"] for c in result["cases"]}


def test_a_build_without_the_agent_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(agent, "ask", raising=False)
    with pytest.raises(ConfigError, match="--model-only"):
        agent_ask()


SUBSET = ("health-1", "sync-1", "logs-2", "follow-1", "integration-6", "cannot-1",
          "ho-integrations-1", "ho-follow-1")


async def test_the_agent_itself_on_a_small_subset(services: Services,
                                                  sandbox: SandboxServer) -> None:
    """`make test`'s slice of `connectus eval`: the real agent.ask once it is built."""
    ask = getattr(agent, "ask", None)
    if ask is None:
        pytest.skip("agent.ask (the LangGraph agent) is not in this build yet")
    from evals.agent.cases import DEFAULT_CASES, load_cases

    cases = [c for c in load_cases(DEFAULT_CASES) if c.id in SUBSET]
    assert len(cases) == len(SUBSET)
    caller = await demo_caller(services, sandbox.url)
    result = await run_cases(services, caller, cases, ask=ask)
    assert result["tool_accuracy"] >= 0.9 and result["arg_accuracy"] >= 0.85, result["cases"]
    assert result["grounded"] == 1.0, result["cases"]
    # the answers are written from the results, with the demo tenant's real scores
    rows = await list_integrations(services, caller)
    health = next(c for c in result["cases"] if c["id"] == "health-1")
    assert health["grounded"] is True, health
    for row in rows:  # every integration's score, not only the (empty) problem list
        assert row.name in health["answer"], health
    assert not any("TOOL RESULT" in c["answer"] for c in result["cases"])
