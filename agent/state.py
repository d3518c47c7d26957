"""What the graph carries: the conversation. The input is the new message alone; the full
state adds LangGraph's count of the steps left, which enforces the step limit."""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps


class InputState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class State(InputState):
    remaining_steps: RemainingSteps
