"""The graph: a model node and a tool node in a loop, until the model answers without
calling a tool or the step limit is reached."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.context import Context
from agent.prompts import INTEGRATION_HINT, STEP_LIMIT_ANSWER, SYSTEM_PROMPT
from agent.state import InputState, State
from agent.tool_node import tools_node
from tools.registry import tool_schemas

STEP_LIMIT = 12  # model and tool steps in one turn


async def model_node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    if state["remaining_steps"] < 2:
        return {"messages": [AIMessage(STEP_LIMIT_ANSWER)]}
    ctx = runtime.context
    prompt = SYSTEM_PROMPT
    if ctx.integration_id is not None:
        prompt += "\n\n" + INTEGRATION_HINT.format(integration_id=ctx.integration_id)
    model = ctx.model.bind_tools(list(tool_schemas()))
    reply = await model.ainvoke([SystemMessage(prompt), *state["messages"]])
    return {"messages": [reply]}


def route(state: State) -> Literal["tools", "__end__"]:
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> CompiledStateGraph[Any, Any]:
    """The compiled graph on this checkpointer (compiling once: it costs more than a turn's
    database work)."""
    return _compiled().copy(update={"checkpointer": checkpointer})


@cache
def _compiled() -> CompiledStateGraph[Any, Any]:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("model", model_node)
    builder.add_node("tools", tools_node)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route)
    builder.add_edge("tools", "model")
    return builder.compile()
