"""A row's content hash is over the same text whichever encoder made it: hashes stored
before the fast encoder came in still match, so no record reads as changed because of it."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from jobs.sync.records import canonical


@dataclasses.dataclass
class Point:
    x: int


class Label(str):
    pass


def _as_before(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


@pytest.mark.parametrize("data", [
    {"email": "ann@example.com", "fullName": "Ann Lee", "n": [1, -2, True, None]},
    {"every_ascii": "".join(chr(c) for c in range(128)), "quote": 'say "hi" \\'},
    {"name": "Zoë Łukasz 東京", "emoji": "🙂"},
    {"price": 1.5, "tiny": 1e-05, "huge": 1e16, "nested": {"b": 2, "a": 0.1}},
    {"big": 2**70}, {1: "a number as a key"},
    {"at": datetime(2024, 1, 1, tzinfo=UTC), "on": date(2024, 1, 1), "id": uuid.UUID(int=7)},
    {"amount": Decimal("9.99"), "point": Point(1), "label": Label("x")},
])
def test_a_rows_canonical_text_is_what_it_always_was(data: dict[str, Any]) -> None:
    assert canonical(data) == _as_before(data)
