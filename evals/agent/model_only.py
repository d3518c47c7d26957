"""The model alone over the cases: its first tool call per question, no database.

Binds the contract tools (evals/agent/contract.py) and asks each case on a fresh thread;
a follow-up's earlier questions are asked first, each answered by the model's own call
and an empty tool result, as the graph would."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from evals.agent.cases import Case
from evals.agent.contract import contract_tools
from evals.agent.matching import args_right, tool_right


def run_model_only(model: BaseChatModel, cases: list[Case]) -> dict[str, Any]:
    bound = model.bind_tools(contract_tools())
    rows, took = [], []
    for case in cases:
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
        rows.append({"id": case.id, "split": case.split, "actual_tool": tool,
                     "actual_args": args, "tool_ok": tool_ok,
                     "args_ok": tool_ok and args_right(case.expected_args, args, now),
                     "answer": reply.content if not calls else ""})
    splits = sorted({case.split for case in cases})
    return {"by_split": {split: _accuracy([r for r in rows if r["split"] == split])
                         for split in splits},
            **_accuracy(rows), "p50_ms": round(statistics.median(took), 2) if took else 0.0,
            "p95_ms": round(_p95(took), 2), "cases": rows}


def _accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    count = len(rows) or 1
    return {"cases": len(rows),
            "tool_accuracy": round(sum(r["tool_ok"] for r in rows) / count, 3),
            "arg_accuracy": round(sum(r["args_ok"] for r in rows) / count, 3)}


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
