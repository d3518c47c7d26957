"""The Chainlit side of the elements: send one (props built for the session's caller,
with its markdown table), and the action callbacks the JSX reaches through
``callAction``. What each action does lives in actions.py, free of Chainlit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import chainlit as cl

from tools import data_flows
from tools.context import Caller, Services
from ui.chat.auth import session_caller
from ui.chat.conversation import show_answer
from ui.chat.elements import actions, props, tables
from ui.chat.services import current

Builder = Callable[..., Awaitable[dict[str, Any]]]
ELEMENTS: dict[str, tuple[Builder, Callable[[dict[str, Any]], str], str]] = {
    "Dashboard": (props.dashboard, tables.dashboard, "Your integrations at a glance"),
    "ProviderBrowser": (props.provider_browser, tables.provider_browser,
                        "The providers you can connect"),
    "FieldMapping": (props.field_mapping, tables.field_mapping, "The data flow's mapping"),
    "WorkflowBuilder": (props.workflow_builder, tables.workflow_builder,
                        "Build a workflow: the actions you can use"),
}
OPENERS = {"open_provider_browser": "ProviderBrowser", "open_workflow_builder":
           "WorkflowBuilder", "open_mapping": "FieldMapping", "open_dashboard": "Dashboard"}

# the conversation's agent thread, as app.py keeps it (register)
_agent_thread: Callable[[], Awaitable[str]] | None = None


async def _flow_for(services: Services, caller: Caller, text: str) -> uuid.UUID | None:
    flows = await data_flows.list_data_flows(services, caller)
    named = [f for f in flows if f.name.lower() in text.lower()]
    chosen = named or flows
    return chosen[0].id if chosen else None


async def show(name: str, caller: Caller, text: str = "", **given: Any) -> cl.Message | None:
    """Send element ``name`` (Dashboard, ProviderBrowser, FieldMapping, WorkflowBuilder)
    with its table; FieldMapping takes ``flow_id`` or the flow named in ``text``."""
    services = current()
    build, as_table, title = ELEMENTS[name]
    if name == "FieldMapping":
        flow_id = given.get("flow_id") or await _flow_for(services, caller, text)
        if flow_id is None:
            return await cl.Message("There is no data flow yet to map.").send()
        data = await build(services, caller, uuid.UUID(str(flow_id)))
    else:
        data = await build(services, caller)
    element = cl.CustomElement(name=name, props=data, display="inline")
    return await cl.Message(f"{title}.\n\n{as_table(data)}", elements=[element]).send()


async def _on_action(action: cl.Action) -> dict[str, Any]:
    caller = await session_caller()  # the logged-in user, never the payload
    if action.name in OPENERS:
        await show(OPENERS[action.name], caller, **{
            k: v for k, v in (action.payload or {}).items() if k == "flow_id"})
        return {"ok": True}
    thread = await _agent_thread() if _agent_thread is not None else None
    reply = await actions.run_action(current(), caller, thread, action.name, action.payload)
    if reply.answer is not None:  # a write's confirmation card, or the agent's report
        await show_answer(reply.answer)
    return reply.data


def register(agent_thread: Callable[[], Awaitable[str]]) -> None:
    """Every element action as a Chainlit action callback (once, as app.py loads); a
    click's write joins the conversation's agent thread."""
    global _agent_thread
    _agent_thread = agent_thread
    for name in [*actions.ACTIONS, *OPENERS]:
        cl.action_callback(name)(_on_action)
