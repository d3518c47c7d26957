"""A write over MCP keeps its confirmation: it is planned and stored as a pending
confirmation (the same rows REST and the agent use), and nothing is written until a person
says yes. A client that declared elicitation is asked there and then, with what will
change; any other gets the pending confirmation back, for a ``confirm`` (or ``cancel``)
call with its id. Either way the answer goes through agent.confirm / agent.cancel, the
path the REST confirmation endpoints take."""

from __future__ import annotations

import json
import uuid
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import Field

import agent
from agent.threads import thread_key
from tools import confirmations
from tools.agent_tool import AgentTool, ToolArgs
from tools.context import Caller, Role, Services

# accepting is the whole answer: the form asks for nothing beyond yes or no
NOTHING_TO_FILL: dict[str, Any] = {"type": "object", "properties": {}}


class DecideArgs(ToolArgs):
    confirmation: uuid.UUID = Field(description="the id of the pending confirmation a write "
                                    "answered with")


CONFIRM_DOC = ("Apply a write that waits for confirmation, by the id it answered with. Only "
               "once a person has seen what will change and agreed. A big write needs an "
               "admin.")
CANCEL_DOC = "Drop a write that waits for confirmation, by its id: nothing is written."


def describe(pending: dict[str, Any]) -> str:
    """What will change, for a person deciding: summary, before -> after, cost."""
    preview = pending["preview"]
    lines = [f"{preview['summary']} (needs {pending['needs_role']} or above)"]
    for change in preview["changes"]:
        lines.append(f"- {change['object']} {change['field']}: "
                     f"{json.dumps(change['before'], default=str)} -> "
                     f"{json.dumps(change['after'], default=str)}")
    if preview["records"] is not None:
        lines.append(f"records: {preview['records']}")
    if preview["api_calls"]:
        lines.append(f"provider API calls: {preview['api_calls']}")
    if preview["quota_share"] is not None:
        lines.append(f"share of the remaining quota: {preview['quota_share']:.1%}")
    lines += [f"note: {note}" for note in preview["notes"]]
    return "\n".join(lines)


def can_elicit(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.elicitation is not None
                and ctx.session.can_send_request)


async def propose(services: Services, caller: Caller, tool: AgentTool,
                  args: Any) -> dict[str, Any]:
    """Plan the write and store it as pending; its public form (id, preview)."""
    assert tool.plan is not None
    plan = await tool.plan(services, caller, args)
    key = thread_key(caller, f"mcp-{uuid.uuid4().hex[:16]}")
    row = await confirmations.propose(services, caller, key,
                                      f"{confirmations.DIRECT}{uuid.uuid4().hex}", tool.name,
                                      plan)
    return confirmations.public(row).model_dump(mode="json")


async def decided(services: Services, caller: Caller, confirmation_id: uuid.UUID,
                  approve: bool) -> dict[str, Any]:
    """Confirm (the role checked) or cancel, and say how it ended."""
    settle = agent.confirm if approve else agent.cancel
    said = await settle(services, caller, confirmation_id)
    row = await confirmations.load(services, caller, confirmation_id)
    return {"message": said.text,
            "confirmation": confirmations.public(row).model_dump(mode="json")}


async def write(services: Services, caller: Caller, ctx: ServerRequestContext[Any, Any],
                tool: AgentTool, args: Any) -> dict[str, Any]:
    pending = await propose(services, caller, tool, args)
    what = describe(pending)
    waiting = {"pending": pending, "message": (
        f"Nothing is written yet. {what}\nCall confirm with confirmation {pending['id']} "
        "to apply it once the person agrees, or cancel.")}
    if not caller.role.at_least(Role(pending["needs_role"])):  # asking could not approve it
        waiting["message"] = (f"Nothing is written yet: this needs {pending['needs_role']} or "
                              f"above to confirm, and you are {caller.role.value}. {what}\n"
                              f"Someone who may can confirm {pending['id']}.")
        return waiting
    if not can_elicit(ctx):
        return waiting
    try:
        reply = await ctx.session.elicit_form(f"Apply this change?\n{what}", NOTHING_TO_FILL,
                                              related_request_id=ctx.request_id)
    except MCPError:  # the client could not ask after all: it stays pending, as without
        return waiting
    return await decided(services, caller, uuid.UUID(pending["id"]),
                         reply.action == "accept")
