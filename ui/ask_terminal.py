"""`connectus ask "QUESTION"`: the agent in the terminal, tool steps shown as they run,
and a confirm prompt for a write, with what it will change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from rich.console import Console

import agent
from tools.auth import authenticate, demo_caller
from tools.context import Caller, Services, Settings
from tools.runtime import running

Confirmer = Callable[[dict[str, Any]], bool]


def show_preview(console: Console, pending: dict[str, Any]) -> None:
    preview = pending["preview"]
    console.print(f"[bold yellow]Needs confirmation[/] ({pending['needs_role']} or above): "
                  f"{preview['summary']}", markup=True, highlight=False)
    for change in preview["changes"]:
        console.print(f"  {change['object']} {change['field']}: "
                      f"{json.dumps(change['before'], default=str)} -> "
                      f"{json.dumps(change['after'], default=str)}", highlight=False)
    cost = [f"records: {preview['records']}" if preview["records"] is not None else None,
            f"provider API calls: {preview['api_calls']}" if preview["api_calls"] else None,
            f"{preview['quota_share']:.0%} of the quota left"
            if preview["quota_share"] is not None else None]
    if any(cost):
        console.print("  " + ", ".join(c for c in cost if c), highlight=False)
    for note in preview["notes"]:
        console.print(f"  note: {note}", highlight=False)


async def converse(services: Services, caller: Caller, question: str, thread_id: str | None,
                   console: Console, confirmer: Confirmer, model: Any = None) -> agent.Answer:
    answer = None
    async for event in agent.stream(services, caller, question, thread_id, model=model):
        answer = _show(console, event) or answer
    assert answer is not None
    while answer.pending is not None:
        pending = answer.pending
        show_preview(console, pending)
        decide = agent.confirm if confirmer(pending) else agent.cancel
        answer = await decide(services, caller, uuid.UUID(pending["id"]), model=model)
        for call in answer.tool_calls[-1:]:
            console.print(f"  <- {call['name']}: {json.dumps(call['result'], default=str)[:300]}",
                          style="dim", highlight=False)
        console.print(answer.text, highlight=False)
    return answer


def _show(console: Console, event: agent.Event) -> agent.Answer | None:
    if event.kind == "tool_call":
        console.print(f"-> {event.data['name']}({json.dumps(event.data['args'])})",
                      style="cyan", highlight=False)
    elif event.kind == "tool_result":
        result = event.data["result"]
        status = "ok"
        if event.data["status"] == "error" and isinstance(result, dict):
            status = f"error: {result.get('error', {}).get('message', '')}"
        console.print(f"<- {event.data['name']}: {status}", style="dim", highlight=False)
    elif event.kind == "answer" and event.answer is not None:
        if event.answer.pending is None:
            console.print(event.answer.text, highlight=False)
        return event.answer
    return None


async def ask_in_terminal(settings: Settings, question: str, thread_id: str | None,
                          api_key: str | None, yes: bool) -> None:
    console = Console()

    def prompt(_: dict[str, Any]) -> bool:
        if yes:
            return True
        try:
            return console.input("Confirm? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False

    async with running(settings) as services:
        caller = await (authenticate(services, api_key) if api_key else demo_caller(services))
        answer = await converse(services, caller, question, thread_id, console, prompt)
        console.print(f"(thread {answer.thread_id}: pass --thread {answer.thread_id} to go on)",
                      style="dim", highlight=False)
