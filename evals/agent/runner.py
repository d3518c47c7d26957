"""`connectus eval`: every case through ``agent.ask`` on the demo tenant, one JSON object.

Each case runs on a thread of its own: its ``history`` is asked first, then its question.
Writes stop at the confirmation; nothing is ever confirmed. The call that answers the
question is the write, or else the last read; arguments are as the model passed them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from evals.agent.cases import Case
from evals.agent.contract import WRITE_TOOLS
from evals.agent.grounding import figures, ungrounded_figures
from evals.agent.matching import args_right, tool_right
from evals.agent.summary import accuracy, by_split, latency
from store.accounts import Caller
from tools.context import ConfigError, Services

Ask = Callable[..., Awaitable[Any]]


def agent_ask() -> Ask:
    """h5's entry point, ``agent.ask(services, caller, question, thread_id, *, ...)``."""
    import agent

    ask = getattr(agent, "ask", None)
    if ask is None:
        raise ConfigError("agent.ask is not available in this build; "
                          "`connectus eval --model-only` measures the model alone")
    return ask


async def run_cases(services: Services, caller: Caller, cases: list[Case], *, ask: Ask,
                    model: Any = None, repeat: int = 1) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []  # a case's first try, with how many of its tries passed
    attempts: list[dict[str, Any]] = []  # every try: accuracy is over all of them
    took: list[float] = []
    for case in cases:
        tries = [await _one_try(services, caller, case, ask, model, took)
                 for _ in range(repeat)]
        attempts += tries
        rows.append({**tries[0], "passed": sum(t["tool_ok"] and t["args_ok"] for t in tries)})
    checked = [r for r in attempts if r["grounded"] is not None]
    summary: dict[str, Any] = {
        **accuracy(attempts),
        "grounded": round(sum(r["grounded"] for r in checked) / len(checked), 3)
        if checked else 1.0,
        "grounded_answers": len(checked),
        **latency(took),
        "repeat": repeat,
        "by_split": by_split(attempts),
    }
    if repeat > 1:
        summary["pass_k"] = round(sum(r["passed"] == repeat for r in rows) / (len(rows) or 1), 3)
    summary["cases"] = [{k: r[k] for k in ("id", "actual_tool", "actual_tools", "actual_args",
                                           "answer", "grounded", "ungrounded")} for r in rows]
    return summary


async def _one_try(services: Services, caller: Caller, case: Case, ask: Ask, model: Any,
                   took: list[float]) -> dict[str, Any]:
    thread_id = str(uuid.uuid4())
    for earlier in case.history:
        start = time.perf_counter()
        await ask(services, caller, earlier, thread_id, model=model)
        took.append((time.perf_counter() - start) * 1000)
    now = datetime.now(UTC)
    start = time.perf_counter()
    answer = await ask(services, caller, case.question, thread_id, model=model)
    took.append((time.perf_counter() - start) * 1000)
    calls = _calls(answer)
    tool, args = _answering_call(calls)
    text = str(_field(answer, "text") or "")
    results = [c["result"] for c in calls if c.get("result") is not None]
    pending = _field(answer, "pending")
    if pending is not None:
        results.append(pending if isinstance(pending, dict | list | str) else str(pending))
    tool_ok = tool_right(case.expected_tool, tool)
    invented = ungrounded_figures(text, case.question, results) if figures(text) else []
    return {"id": case.id, "split": case.split, "actual_tool": tool,
            "actual_tools": [c["name"] for c in calls], "actual_args": args, "answer": text,
            "tool_ok": tool_ok, "args_ok": tool_ok and args_right(case.expected_args, args, now),
            # None when the answer states no figure: there is nothing to check
            "grounded": None if not figures(text) else not invented, "ungrounded": invented}


def _calls(answer: Any) -> list[dict[str, Any]]:
    """The answer's tool calls in order, with a pending write last if it is not listed."""
    calls = [{"name": _field(c, "name"), "args": dict(_field(c, "args") or {}),
              "result": _field(c, "result")} for c in _field(answer, "tool_calls") or []]
    pending = _field(answer, "pending")
    name = _field(pending, "tool") or _field(pending, "name") if pending is not None else None
    if isinstance(name, str) and (not calls or calls[-1]["name"] != name):
        calls.append({"name": name, "args": dict(_field(pending, "args") or {}),
                      "result": None})
    return calls


def _answering_call(calls: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
    writes = [c for c in calls if c["name"] in WRITE_TOOLS]
    chosen = writes[-1] if writes else (calls[-1] if calls else None)
    return (chosen["name"], chosen["args"]) if chosen else (None, {})


def _field(value: Any, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)
