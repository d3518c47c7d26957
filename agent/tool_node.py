"""The tool node: runs the model's tool calls through the registry, for the caller.

Reads run at once. A write is planned, stored as a pending confirmation and the graph
stops (a LangGraph interrupt) before anything is written; it goes on only once a person
has confirmed or cancelled it (agent/ask.py), and the stored status, not what the resume
carries, decides whether it runs. Errors a person could fix (bad arguments, an ambiguous
name, no permission, a provider saying "not now") go back to the model as tool messages;
anything else is a bug and propagates.

Every result reaches the model wrapped as data (prompts.DATA_HEADER), so third-party text
inside it is never mistaken for the person's words.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agent.context import Context
from agent.prompts import DATA_HEADER
from agent.state import State
from tools import confirmations
from tools.agent_tool import AgentTool
from tools.context import ConnectusError, fixable, require
from tools.registry import tool_named


def as_data(tool: str, payload: Any) -> str:
    return DATA_HEADER.format(tool=tool) + json.dumps(payload, default=str)


def _error(call: ToolCall, payload: dict[str, Any]) -> ToolMessage:
    return ToolMessage(as_data(call["name"], {"error": payload}), tool_call_id=call["id"] or "",
                       name=call["name"], status="error")


async def _write(tool: AgentTool, call: ToolCall, args: Any, ctx: Context) -> Any:
    assert tool.plan is not None and tool.apply is not None
    plan = await tool.plan(ctx.services, ctx.caller, args)
    row = await confirmations.propose(ctx.services, ctx.caller, ctx.thread_key,
                                      call["id"] or "", tool.name, plan)
    if row.status == "pending":
        interrupt({"confirmation": confirmations.public(row).model_dump(mode="json")})
    # resumed: the row says what the person decided (a fresh read, not the resume value)
    return await confirmations.settle(ctx.services, ctx.caller, row.id)


async def _one(call: ToolCall, ctx: Context, *, write_allowed: bool) -> ToolMessage:
    tool = tool_named(call["name"])
    if tool is None:
        return _error(call, {"code": "unknown_tool", "message": f"there is no tool "
                                                               f"{call['name']!r}"})
    try:
        args = tool.args.model_validate(call["args"])
    except ValidationError as exc:
        return _error(call, {"code": "invalid", "message": "the arguments are not right",
                             "details": [{"field": ".".join(map(str, e["loc"])),
                                          "message": e["msg"]} for e in exc.errors()]})
    if tool.writes and not write_allowed:
        return _error(call, {"code": "one_write_at_a_time", "message": (
            "only one write is proposed at a time; propose this one again once the first "
            "is confirmed or cancelled")})
    try:
        require(ctx.caller, tool.role, f"{tool.name}")
        if tool.writes:
            result = await _write(tool, call, args, ctx)
        else:
            assert tool.read is not None
            result = await tool.read(ctx.services, ctx.caller, args)
    except ConnectusError as exc:
        answer = fixable(exc)
        if answer is None:
            raise
        return _error(call, answer)
    return ToolMessage(as_data(tool.name, result), tool_call_id=call["id"] or "",
                       name=tool.name, artifact=result)


async def tools_node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    answered: list[ToolMessage] = []
    writes = 0
    for call in last.tool_calls:
        call = {**call, "id": call.get("id") or uuid.uuid4().hex}
        tool = tool_named(call["name"])
        answered.append(await _one(call, runtime.context, write_allowed=writes == 0))
        writes += bool(tool and tool.writes)
    return {"messages": answered}
