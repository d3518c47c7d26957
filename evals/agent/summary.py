"""The figures every eval run reports: accuracy per split, pass^K, latency percentiles."""

from __future__ import annotations

import statistics
from typing import Any


def accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    count = len(rows) or 1
    return {"tries": len(rows),
            "tool_accuracy": round(sum(r["tool_ok"] for r in rows) / count, 3),
            "arg_accuracy": round(sum(r["args_ok"] for r in rows) / count, 3)}


def by_split(rows: list[dict[str, Any]]) -> dict[str, Any]:
    splits = sorted({r["split"] for r in rows})
    return {split: accuracy([r for r in rows if r["split"] == split]) for split in splits}


def latency(took_ms: list[float]) -> dict[str, float]:
    if not took_ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    ordered = sorted(took_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}
