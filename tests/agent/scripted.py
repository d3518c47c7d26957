"""A scripted chat model for the agent's tests: it stands in for the real model, supports
bind_tools, and answers each call with the next step of its script. A step is either an
AIMessage to emit or a function of the messages seen so far (to write an answer from the
tool results, or to behave like a gullible model that obeys text found in them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Step = AIMessage | Callable[[list[BaseMessage]], AIMessage]


def call(tool: str, call_id: str = "", /, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": tool, "args": args,
                                      "id": call_id or f"call_{tool}"}])


def say(text: str) -> AIMessage:
    return AIMessage(text)


def last_tool_result(messages: list[BaseMessage]) -> str:
    return next(str(m.content) for m in reversed(messages) if isinstance(m, ToolMessage))


class ScriptedModel(BaseChatModel):
    script: list[Any]
    _seen: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _tools: list[Any] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def seen(self) -> list[list[BaseMessage]]:
        """What the model was shown at each call."""
        return self._seen

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self._tools]

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> ScriptedModel:
        self._tools = list(tools)
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **_: Any) -> ChatResult:
        self._seen.append(list(messages))
        if not self.script:
            raise AssertionError("the model was called more often than scripted")
        step = self.script.pop(0)
        message = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])
