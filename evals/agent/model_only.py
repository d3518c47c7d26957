"""The model alone over the cases: its first tool call per question, no database.

Binds the contract tools (evals/agent/contract.py) and asks each case on a fresh thread;
a follow-up's earlier questions are asked first, each answered by the model's own call
and an empty tool result, as the graph would."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from evals.agent.cases import Case
from evals.agent.contract import contract_tools
from evals.agent.matching import args_right, tool_right
from evals.agent.summary import accuracy, by_split, latency


def run_model_only(model: BaseChatModel, cases: list[Case], repeat: int = 1) -> dict[str, Any]:
    """Accuracy over every try; with ``repeat`` above 1, ``pass_k`` is the share of cases
    right on all of their tries."""
    bound = model.bind_tools(contract_tools())
    attempts: list[dict[str, Any]] = []
    took: list[float] = []
    for case in cases:
        attempts += [_one_try(bound, case, took) for _ in range(repeat)]
    rows = attempts[::repeat]
    summary = {**accuracy(attempts), "by_split": by_split(attempts), **latency(took),
               "repeat": repeat}
    if repeat > 1:
        passed = [all(t["args_ok"] for t in attempts[i:i + repeat])
                  for i in range(0, len(attempts), repeat)]
        summary["pass_k"] = round(sum(passed) / (len(passed) or 1), 3)
    return {**summary, "cases": rows}


def _one_try(bound: Any, case: Case, took: list[float]) -> dict[str, Any]:
    now = datetime.now(UTC)
    thread: list[BaseMessage] = []
    for earlier in case.history:
        thread.append(HumanMessage(earlier))
        reply = bound.invoke(thread)
        thread.append(reply)
        for call in getattr(reply, "tool_calls", []):
            thread.append(ToolMessage("{}", tool_call_id=call["id"]))
            thread.append(AIMessage("ok"))
    thread.append(HumanMessage(case.question))
    start = time.perf_counter()
    reply = bound.invoke(thread)
    took.append((time.perf_counter() - start) * 1000)
    calls = getattr(reply, "tool_calls", [])
    tool = calls[0]["name"] if calls else None
    args = dict(calls[0]["args"]) if calls else {}
    tool_ok = tool_right(case.expected_tool, tool)
    return {"id": case.id, "split": case.split, "actual_tool": tool,
            "actual_tools": [c["name"] for c in calls], "actual_args": args,
            "tool_ok": tool_ok,
            "args_ok": tool_ok and args_right(case.expected_args, args, now),
            "answer": reply.content}
