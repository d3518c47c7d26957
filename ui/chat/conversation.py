"""One turn of the conversation on screen: the agent's stream (agent/ask.py) as a
streamed message, a step per tool call (its arguments, a compact result), and a card with
Confirm / Cancel for a write that waits; after a write that can be undone, an Undo
button. The buttons' presses come back through app.py's action callbacks."""

from __future__ import annotations

import uuid
from typing import Any

import chainlit as cl

from agent.ask import Answer, cancel, confirm, stream
from tools import confirmations
from tools.context import Caller, ConnectusError
from ui.chat.cards import compact, confirmation_card, outcome
from ui.chat.services import current

CONFIRM, CANCEL, UNDO = "confirm_write", "cancel_write", "undo_write"


async def run_turn(caller: Caller, question: str, agent_thread: str) -> Answer | None:
    """Stream one question's answer. Errors a person can act on are said in the chat."""
    steps: dict[str, list[cl.Step]] = {}
    message: cl.Message | None = None
    answer = None
    try:
        async for event in stream(current(), caller, question, agent_thread):
            if event.kind == "token":
                if message is None:
                    message = cl.Message(content="", author="Connectus")
                await message.stream_token(str(event.data.get("text", "")))
            elif event.kind == "tool_call":
                await _open_step(steps, event.data)
            elif event.kind == "tool_result":
                await _close_step(steps, event.data)
            elif event.kind == "answer":
                answer = event.answer
    except ConnectusError as exc:
        await cl.Message(content=f"I could not do that: {exc}", author="Connectus").send()
        return None
    assert answer is not None
    for waiting in steps.values():  # a write that stopped for a confirmation
        for step in waiting:
            step.output = "waiting for your confirmation"
            await step.update()
    if answer.pending:  # the press fills these in, rather than showing the call again
        cl.user_session.set(_waiting(str(answer.pending["id"])),
                            [step for waiting in steps.values() for step in waiting])
    await show_answer(answer, message)
    return answer


async def _open_step(steps: dict[str, list[cl.Step]], data: dict[str, Any]) -> None:
    step = cl.Step(name=str(data.get("name")), type="tool", show_input="json",
                   language="json")
    step.input = data.get("args") or {}
    await step.send()
    steps.setdefault(step.name, []).append(step)


async def _close_step(steps: dict[str, list[cl.Step]], data: dict[str, Any]) -> None:
    waiting = steps.get(str(data.get("name")), [])
    step = waiting.pop(0) if waiting else cl.Step(name=str(data.get("name")), type="tool")
    step.output = compact(data.get("result"))
    step.is_error = data.get("status") == "error"
    if step.start:
        await step.update()
    else:
        await step.send()


async def show_answer(answer: Answer, message: cl.Message | None = None) -> None:
    """The answer's text (streamed already, or sent now), then its confirmation card or
    the undo the write it reports offers."""
    if answer.pending:
        if message is not None:
            await message.send()
        await _confirmation(answer.pending)
        return
    if message is None:
        message = cl.Message(content=answer.text, author="Connectus")
    elif answer.text and not message.content.strip():
        message.content = answer.text
    await message.send()


def _waiting(confirmation_id: str) -> str:
    return f"waiting_steps:{confirmation_id}"


def _buttons(confirmation_id: str, card_id: str = "") -> list[cl.Action]:
    """Confirm and Cancel, with ids of their own so that either press removes both."""
    payload = {"id": confirmation_id}
    buttons = [cl.Action(id=f"{confirmation_id}-confirm", name=CONFIRM, payload=payload,
                         label="Confirm", icon="check"),
               cl.Action(id=f"{confirmation_id}-cancel", name=CANCEL, payload=payload,
                         label="Cancel", icon="x")]
    for button in buttons:
        button.forId = card_id or button.forId
    return buttons


async def _confirmation(pending: dict[str, Any]) -> None:
    await cl.Message(content=confirmation_card(pending), author="Connectus",
                     actions=_buttons(str(pending["id"]))).send()


async def decide(caller: Caller, action: cl.Action, approve: bool) -> None:
    """A press of Confirm or Cancel: the agent runs (or drops) the write, its role check
    included; a refused press says why and leaves the buttons for someone who may."""
    confirmation_id = uuid.UUID(str(action.payload["id"]))
    try:
        answer = await (confirm if approve else cancel)(
            current(), caller, confirmation_id)
    except ConnectusError as exc:
        await cl.Message(content=f"Not done: {exc}", author="Connectus").send()
        return
    for button in _buttons(str(confirmation_id), action.forId or ""):
        await button.remove()
    waiting = cl.user_session.get(_waiting(str(confirmation_id))) or []
    cl.user_session.set(_waiting(str(confirmation_id)), None)
    for call in answer.tool_calls:
        if call.get("result") is None:
            continue
        shown = next((step for step in waiting if step.name == call["name"]), None)
        if shown is not None:  # the step that waited, now with what the write did
            waiting.remove(shown)
            shown.output = compact(call["result"])
            await shown.update()
            continue
        async with cl.Step(name=str(call["name"]), type="tool", show_input="json",
                           language="json") as step:  # e.g. a conversation resumed later
            step.input = call.get("args") or {}
            step.output = compact(call["result"])
    await show_answer(answer)
    if approve:
        await _outcome(caller, confirmation_id)


async def _outcome(caller: Caller, confirmation_id: uuid.UUID) -> None:
    """What the write did, in a few lines, and Undo while it can be undone."""
    row = confirmations.public(await confirmations.load(current(), caller, confirmation_id))
    text = f"**{row.status.capitalize()}**\n\n{outcome(row.result)}"
    actions = []
    if row.undo:
        text += f"\n\nUndo would: {row.undo}"
        actions.append(cl.Action(name=UNDO, payload={"id": str(row.id)}, label="Undo",
                                 icon="undo-2"))
    await cl.Message(content=text, author="Connectus", actions=actions).send()


async def undo(caller: Caller, action: cl.Action, agent_thread: str) -> None:
    """Ask the agent to undo that write: the undo is a write too, with its own card."""
    await action.remove()
    await run_turn(caller, f"undo {action.payload['id']}", agent_thread)
