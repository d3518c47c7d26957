"""A click in a door (a button of a chat element) as a tool call the person made
themselves: the thread records it as the model's turn, so the tool node runs it exactly
as a typed request would; a write stops for the same confirmation (confirmed or cancelled
with agent.confirm / agent.cancel), the model reports the result, and undo works on it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from agent.ask import Event, _model, _run, _set_aside
from agent.checkpoints import checkpointer
from agent.graph import STEP_LIMIT, build_graph
from agent.threads import new_thread_id, thread_key
from tools.context import Caller, Services, ValidationFailed, require
from tools.registry import tool_named


async def click(services: Services, caller: Caller, tool: str, args: dict[str, Any],
                said: str, thread_id: str | None = None, *,
                model: BaseChatModel | None = None) -> AsyncIterator[Event]:
    """Run ``tool`` with ``args`` in the thread as if the model had called it; ``said`` is
    the person's words for the click ("Sync HubSpot now"), kept in the thread."""
    found = tool_named(tool)
    if found is None:
        raise ValidationFailed(f"there is no tool {tool!r}", field="tool")
    try:
        found.args.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(first["msg"], field=".".join(map(str, first["loc"])) or "args",
                               ) from None
    require(caller, found.role, tool)
    key = thread_key(caller, thread_id or new_thread_id())
    async with checkpointer(services) as saver:
        graph = build_graph(saver)
        config: RunnableConfig = {"configurable": {"thread_id": key},
                                  "recursion_limit": STEP_LIMIT}
        await _set_aside(services, caller, graph, config)
        call = {"name": tool, "args": args, "id": f"click_{uuid.uuid4().hex}",
                "type": "tool_call"}
        await graph.aupdate_state(config, {"messages": [
            HumanMessage(said), AIMessage("", tool_calls=[call])]}, as_node="model")
    async for event in _run(services, caller, key, None, _model(services, model), None):
        yield event
