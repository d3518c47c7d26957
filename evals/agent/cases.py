"""Eval cases: JSON Lines as DESIGN.md draws them, plus ``history`` and ``split``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import ConfigError

DEFAULT_CASES = Path(__file__).with_name("cases.jsonl")


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    expected_tool: str | None  # None: the right answer is to call no tool and say so
    expected_args: dict[str, Any]
    history: tuple[str, ...] = ()  # asked first, on the same thread
    split: str = "tuned"  # or "held_out": never looked at while tuning the model
    extra: dict[str, Any] = field(default_factory=dict)


def load_cases(path: Path) -> list[Case]:
    """Every case of a file; a bad line is named by its number, nothing half-loaded."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"--cases {path}: cannot read it ({exc.strerror})") from None
    cases: list[Case] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}:{number}: a case is a JSON object")
        missing = [k for k in ("id", "question", "expected_tool") if k not in raw]
        if missing:
            raise ConfigError(f"{path}:{number}: missing {', '.join(missing)}")
        history = raw.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise ConfigError(f"{path}:{number}: history must be a list of questions")
        args = raw.get("expected_args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"{path}:{number}: expected_args must be an object")
        known = {"id", "question", "expected_tool", "expected_args", "history", "split"}
        cases.append(Case(id=str(raw["id"]), question=str(raw["question"]),
                          expected_tool=raw["expected_tool"], expected_args=args,
                          history=tuple(history), split=str(raw.get("split", "tuned")),
                          extra={k: v for k, v in raw.items() if k not in known}))
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: case ids repeat: "
                          f"{sorted({i for i in ids if ids.count(i) > 1})}")
    return cases
