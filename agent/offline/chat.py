"""The offline model: LangChain's chat-model interface over a deterministic router.

Bound tools are read from their JSON schemas (names, descriptions, arguments, enums);
a person's message becomes one tool call, and the tool results that come back become
the answer. No network, no weights: the same conversation gives the same reply."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from agent.offline.answers import parse, write_answer
from agent.offline.planner import Turn, decide
from agent.offline.schema import ToolSpec, spec_of
from agent.prompts import DATA_HEADER


class OfflineChatModel(BaseChatModel):
    """Picks a bound tool and its arguments from the question; answers from results."""

    now: datetime | None = None  # fixes the clock for time windows (tests); None = real time
    # the specs of the last tool list seen: a bound model passes the same list every turn
    _specs: tuple[object, dict[str, ToolSpec]] | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "connectus-offline"

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        tools = kwargs.get("tools") or []
        if self._specs is None or self._specs[0] is not tools:
            self._specs = (tools, {spec.name: spec for spec in map(spec_of, tools)})
        specs = self._specs[1]
        return ChatResult(generations=[ChatGeneration(message=self.reply(messages, specs))])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        # pure computation in well under a millisecond: no thread hop (the default's)
        return self._generate(messages, stop, None, **kwargs)

    def reply(self, messages: list[BaseMessage], specs: dict[str, ToolSpec]) -> AIMessage:
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)),
                         default=-1)
        results = [m for m in messages[last_human + 1:] if isinstance(m, ToolMessage)]
        if results:
            return AIMessage(content=_answer_from(messages, results))
        if last_human < 0:
            return AIMessage(content="Ask me about your integrations.")
        question = _text(messages[last_human])
        decision = decide(question, _history(messages[:last_human]), specs, self.now,
                          _context(messages))
        if decision.tool is None:
            return AIMessage(content=decision.reason)
        call_id = f"call_{sum(isinstance(m, AIMessage) for m in messages)}_{decision.tool}"
        return AIMessage(content=decision.reason, tool_calls=[
            {"name": decision.tool, "args": decision.args, "id": call_id, "type": "tool_call"}])


def _answer_from(messages: list[BaseMessage], results: list[ToolMessage]) -> str:
    names = {call["id"]: call["name"] for m in messages if isinstance(m, AIMessage)
             for call in m.tool_calls}
    answers = []
    for result in results:
        tool = names.get(result.tool_call_id, result.name or "result")
        answers.append(write_answer(tool, _payload(result)))
    return "\n\n".join(answers)


# the header with any tool's name: a result whose call is not in the thread still parses
_HEADER = re.compile("^" + r"[\w.-]+".join(map(re.escape, DATA_HEADER.split("{tool}"))))


def _payload(result: ToolMessage) -> Any:
    """The tool's result without the data header the tool node wraps it in: the header
    is ours, the JSON after it is what the answer is written from."""
    text = _HEADER.sub("", _text(result), count=1)
    payload = parse(text)
    if result.status == "error" and not (isinstance(payload, dict) and "error" in payload):
        return {"error": payload}
    return payload


_CURRENT = re.compile(r"^\s*current (integration|data_flow|workflow):\s*(.+?)\s*$",
                      re.IGNORECASE | re.MULTILINE)


def _context(messages: list[BaseMessage]) -> dict[str, str]:
    """Subjects the door knows, from our own system messages (never from tool results):
    a line ``Current integration: <id or name>``."""
    found: dict[str, str] = {}
    for message in messages:
        if isinstance(message, SystemMessage):
            for kind, value in _CURRENT.findall(_text(message)):
                found[kind.lower()] = value
    return found


def _history(messages: list[BaseMessage]) -> list[Turn]:
    """Earlier questions with the call made for each: what a follow-up refers back to."""
    turns: list[Turn] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(Turn(_text(message)))
        elif isinstance(message, AIMessage) and message.tool_calls and turns:
            call = message.tool_calls[-1]
            turns[-1] = Turn(turns[-1].question, call["name"], dict(call["args"]))
    return turns


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
