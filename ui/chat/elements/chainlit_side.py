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
from ui.chat.elements import actions, props, tables

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

# set by the chat app once it has them (ui/chat/app.py): who is logged in, and the services
session_caller: Callable[[], Caller] | None = None
session_services: Callable[[], Services] | None = None
session_thread: Callable[[], str | None] = lambda: None  # noqa: E731
show_pending: Callable[[dict[str, Any]], Awaitable[Any]] | None = None


def _who() -> tuple[Services, Caller]:
    assert session_caller is not None and session_services is not None, \
        "ui/chat/app.py sets session_caller and session_services"
    return session_services(), session_caller()


async def _flow_for(services: Services, caller: Caller, text: str) -> uuid.UUID | None:
    flows = await data_flows.list_data_flows(services, caller)
    named = [f for f in flows if f.name.lower() in text.lower()]
    chosen = named or flows
    return chosen[0].id if chosen else None


async def show(name: str, text: str = "", **given: Any) -> cl.Message | None:
    """Send element ``name`` (Dashboard, ProviderBrowser, FieldMapping, WorkflowBuilder)
    with its table; FieldMapping takes ``flow_id`` or the flow named in ``text``."""
    services, caller = _who()
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


async def maybe_show(text: str) -> bool:
    """Called before the agent answers: send the element the message asks for, if any
    (True: the message is answered)."""
    from ui.chat.elements import wanted

    name = wanted(text)
    if name is None:
        return False
    await show(name, text)
    return True


async def _on_action(action: cl.Action) -> dict[str, Any]:
    services, caller = _who()
    if action.name in OPENERS:
        await show(OPENERS[action.name], **{k: v for k, v in (action.payload or {}).items()
                                            if k == "flow_id"})
        return {"ok": True}
    reply = await actions.run_action(services, caller, session_thread(), action.name,
                                     action.payload)
    if reply.pending is not None:
        if show_pending is not None:
            await show_pending(reply.pending)
        else:
            await cl.Message(reply.text or "This needs your confirmation.").send()
    elif reply.text:
        await cl.Message(reply.text).send()
    return reply.data


def register() -> None:
    """Every element action as a Chainlit action callback (once, at import of the app)."""
    for name in [*actions.ACTIONS, *OPENERS]:
        cl.action_callback(name)(_on_action)
