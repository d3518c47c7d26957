"""When a call counts as right: the rules every runner shares.

- the tool: the same name (a case expecting no tool is right when none was called);
- each expected argument (others are free): strings equal ignoring case, spaces and
  punctuation ("google_ads" == "Google Ads"); lists the same items in any order; objects
  hold the expected keys; ``{"$hours_ago": [lo, hi]}`` is a time whose distance from the
  case's start lies between lo and hi hours (time windows are relative to now)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def tool_right(expected: str | None, actual: str | None) -> bool:
    return expected == actual


def args_right(expected: dict[str, Any], actual: dict[str, Any], now: datetime) -> bool:
    return all(name in actual and value_right(value, actual[name], now)
               for name, value in expected.items())


def value_right(expected: Any, actual: Any, now: datetime) -> bool:
    if isinstance(expected, dict) and "$hours_ago" in expected:
        low, high = expected["$hours_ago"]
        moment = _moment(actual)
        return moment is not None and low <= (now - moment).total_seconds() / 3600 <= high
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and value_right(v, actual[k], now) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and sorted(map(_squash, expected)) == sorted(
            map(_squash, actual))
    if isinstance(expected, str):
        return isinstance(actual, str) and _squash(expected) == _squash(actual)
    return bool(expected == actual)


def _squash(value: Any) -> str:
    return "".join(re.findall(r"[a-z0-9]+", str(value).lower()))


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
