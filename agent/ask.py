"""The agent's doors: ``ask`` a question, ``confirm`` or ``cancel`` a pending write, and
``stream`` for doors that show tokens and tool steps as they come.

Each call opens the thread (tenant-prefixed, agent/threads.py) in the PostgreSQL
checkpointer, runs the graph and reads the turn back as an ``Answer``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent.checkpoints import checkpointer
from agent.context import Context
from agent.graph import STEP_LIMIT, build_graph
from agent.threads import new_thread_id, public_id, thread_key
from agent.tool_node import as_data
from tools import confirmations, integrations
from tools.context import Caller, ConfigError, Conflict, Services, ValidationFailed

MAX_QUESTION = 4000
SOURCE_LISTS = ("health_logs", "insights", "logs", "results")  # lists whose items are sources


@dataclass
class Answer:
    text: str
    thread_id: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {name, args, result}
    sources: list[str] = field(default_factory=list)  # insight and health-log ids
    pending: dict[str, Any] | None = None  # the confirmation waiting for a person

    def public(self) -> dict[str, Any]:
        return {"answer": self.text, "thread_id": self.thread_id,
                "tool_calls": self.tool_calls, "sources": self.sources,
                "pending": self.pending}


@dataclass(frozen=True)
class Event:
    """One step as it happens: kind is token, tool_call, tool_result, pending or answer."""

    kind: str
    data: dict[str, Any]
    answer: Answer | None = None


def _model(services: Services, model: BaseChatModel | None) -> BaseChatModel:
    if model is not None:
        return model
    shared = services.extras.get("chat_model")  # one model for every door, set at startup
    if isinstance(shared, BaseChatModel):
        return shared
    try:
        from agent.model import chat_model  # the offline model or ChatOpenAI, by settings
    except ImportError:
        raise ConfigError("this installation has no agent model (agent/model.py)") from None
    return chat_model(services.settings)


def _sources(result: Any) -> list[str]:
    found: list[str] = []
    if isinstance(result, dict):
        for key, value in result.items():
            if key in SOURCE_LISTS and isinstance(value, list):
                found += [str(i["id"]) for i in value if isinstance(i, dict) and "id" in i]
            elif isinstance(value, dict | list):
                found += _sources(value)
    elif isinstance(result, list):
        for item in result:
            found += _sources(item)
    return found


def _result_of(message: ToolMessage) -> Any:
    if message.artifact is not None:
        return message.artifact
    text = str(message.content)
    try:
        return json.loads(text.split("\n", 1)[1])
    except (IndexError, ValueError):
        return text


async def _answer(graph: Any, config: RunnableConfig, thread_id: str) -> Answer:
    state = await graph.aget_state(config)
    messages = state.values.get("messages", [])
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    turn = messages[start:]
    results = {m.tool_call_id: _result_of(m) for m in turn if isinstance(m, ToolMessage)}
    calls, sources = [], []
    for message in turn:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                result = results.get(call["id"] or "")
                calls.append({"name": call["name"], "args": call["args"], "result": result})
                sources += _sources(result)
    pending = None
    for interrupt in state.interrupts:
        if isinstance(interrupt.value, dict) and "confirmation" in interrupt.value:
            pending = interrupt.value["confirmation"]
    last = turn[-1] if turn else None
    text = str(last.content) if isinstance(last, AIMessage) and not pending else ""
    if pending:
        text = f"This needs your confirmation: {pending['preview']['summary']}."
    return Answer(text=text, thread_id=thread_id, tool_calls=calls,
                  sources=list(dict.fromkeys(sources)), pending=pending)


async def _set_aside(services: Services, caller: Caller, graph: Any,
                     config: RunnableConfig) -> None:
    """A new question while a write waits: the person moved on, so the write is cancelled
    (nothing written) and the thread records that, as if they had said no."""
    state = await graph.aget_state(config)
    for interrupt in state.interrupts:
        pending = interrupt.value.get("confirmation") if isinstance(interrupt.value, dict) \
            else None
        if pending is None:
            continue
        try:
            row = await confirmations.decide(services, caller, uuid.UUID(pending["id"]), False)
        except Conflict:  # decided meanwhile (over REST, say): the row says how
            row = await confirmations.load(services, caller, uuid.UUID(pending["id"]))
        said = {"cancelled": True, "message": "the person asked something else instead; "
                "nothing was written"} if row.status == "cancelled" else row.result
        await graph.aupdate_state(config, {"messages": [ToolMessage(
            as_data(row.tool, said), tool_call_id=row.tool_call_id, name=row.tool,
            artifact=said)]}, as_node="tools")


async def _run(services: Services, caller: Caller, key: str, payload: Any,
               model: BaseChatModel, integration_id: uuid.UUID | None) -> AsyncIterator[Event]:
    async with checkpointer(services) as saver:
        graph = build_graph(saver)
        config: RunnableConfig = {"configurable": {"thread_id": key},
                                  "recursion_limit": STEP_LIMIT}
        if not isinstance(payload, Command):
            await _set_aside(services, caller, graph, config)
        context = Context(services=services, caller=caller, thread_key=key, model=model,
                          integration_id=integration_id)
        parts: AsyncIterator[Any] = graph.astream(payload, config, context=context,
                                                  stream_mode=["messages", "updates"],
                                                  durability="exit")
        async for mode, chunk in parts:
            if mode == "messages":
                message, meta = chunk
                if isinstance(message, AIMessage) and message.content and \
                        meta.get("langgraph_node") == "model":
                    yield Event("token", {"text": message.content})
            elif isinstance(chunk, dict):
                for node, update in chunk.items():
                    for message in (update or {}).get("messages", []) \
                            if isinstance(update, dict) else []:
                        if isinstance(message, AIMessage):
                            for call in message.tool_calls:
                                yield Event("tool_call", {"name": call["name"],
                                                          "args": call["args"]})
                        elif isinstance(message, ToolMessage):
                            yield Event("tool_result", {"name": message.name,
                                                        "status": message.status,
                                                        "result": _result_of(message)})
                    if node == "__interrupt__":
                        for item in update:
                            yield Event("pending", dict(item.value))
        answer = await _answer(graph, config, public_id(key))
        yield Event("answer", answer.public(), answer)


async def stream(services: Services, caller: Caller, question: str,
                 thread_id: str | None = None, *, integration_id: uuid.UUID | None = None,
                 model: BaseChatModel | None = None) -> AsyncIterator[Event]:
    question = question.strip()
    if not question:
        raise ValidationFailed("is empty: ask a question", field="query")
    if len(question) > MAX_QUESTION:
        raise ValidationFailed(f"is longer than {MAX_QUESTION} characters", field="query")
    key = thread_key(caller, thread_id or new_thread_id())
    if integration_id is not None:
        await integrations.get_integration(services, caller, integration_id)  # or NotFound
    async for event in _run(services, caller, key, {"messages": [HumanMessage(question)]},
                            _model(services, model), integration_id):
        yield event


async def _last(events: AsyncIterator[Event]) -> Answer:
    answer = None
    async for event in events:
        answer = event.answer or answer
    assert answer is not None
    return answer


async def ask(services: Services, caller: Caller, question: str, thread_id: str | None = None,
              *, integration_id: uuid.UUID | None = None,
              model: BaseChatModel | None = None) -> Answer:
    return await _last(stream(services, caller, question, thread_id,
                              integration_id=integration_id, model=model))


async def _settle_direct(services: Services, caller: Caller,
                         confirmation_id: uuid.UUID) -> Answer:
    result = await confirmations.settle(services, caller, confirmation_id)
    row = await confirmations.load(services, caller, confirmation_id)
    summary = row.preview.get("summary", row.tool)
    text = f"Done: {summary}." if row.status == "done" else \
        f"Cancelled: {summary}; nothing was written." if row.status == "cancelled" else \
        f"{summary}: {row.status}."
    return Answer(text=text, thread_id=public_id(row.thread_id),
                  tool_calls=[{"name": row.tool, "args": row.args, "result": result}])


async def _decide(services: Services, caller: Caller, confirmation_id: uuid.UUID,
                  approve: bool, model: BaseChatModel | None) -> Answer:
    row = await confirmations.decide(services, caller, confirmation_id, approve)
    if not row.thread_id.startswith(f"{caller.tenant_id}:"):  # the session's filter holds
        raise AssertionError("a confirmation of another tenant was loaded")
    if confirmations.is_direct(row):  # proposed over MCP: no graph waits on it
        return await _settle_direct(services, caller, row.id)
    return await _last(_run(services, caller, row.thread_id,
                            Command(resume={"confirmation": str(row.id)}),
                            _model(services, model), None))


async def confirm(services: Services, caller: Caller, confirmation_id: uuid.UUID, *,
                  model: BaseChatModel | None = None) -> Answer:
    """Run the pending write (the confirmer's role checked) and let the agent report it."""
    return await _decide(services, caller, confirmation_id, True, model)


async def cancel(services: Services, caller: Caller, confirmation_id: uuid.UUID, *,
                 model: BaseChatModel | None = None) -> Answer:
    """Write nothing; the agent is told the person said no."""
    return await _decide(services, caller, confirmation_id, False, model)
