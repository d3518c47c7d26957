"""Rules about presence and choice: default, coalesce, lookup, required, drop_if."""

from __future__ import annotations

import json
from typing import Any

from jobs.mapping.model import Drop, Params, Rule, RuleFailed, empty, register

MAX_TABLE = 10_000


def _scalar(params: Params, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, dict | list):
        raise params.fail(name, "must be a plain value (text, number, true/false or null)")
    return value


@register
class Default(Rule):
    """``{"rule": "default", "value": "unknown"}``: used when the value is missing or
    empty."""

    name = "default"
    params = ("value",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        if not params.has("value"):
            raise params.fail("value", "is required")
        self.value = params.get("value")

    def apply(self, value: Any) -> Any:
        return self.value if empty(value) else value


@register
class Coalesce(Rule):
    """``{"rule": "coalesce"}``: the first non-empty value of a multi-source mapping."""

    name = "coalesce"

    def apply(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return next((v for v in value if not empty(v)), None)


@register
class Lookup(Rule):
    """``{"rule": "lookup", "table": {"lead": "Lead"}, "default": "Other"}``; without a
    default an unknown value is an error. Keys are text: 1 and "1" are the same key."""

    name = "lookup"
    params = ("table", "default")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        table = params.get("table")
        if not isinstance(table, dict) or not table:
            raise params.fail("table", "must be an object of value -> replacement")
        if len(table) > MAX_TABLE:
            raise params.fail("table", f"may hold at most {MAX_TABLE} entries")
        self.table = {str(k): v for k, v in table.items()}
        self.has_default = params.has("default")
        self.default = params.get("default")

    def apply(self, value: Any) -> Any:
        if value is None and not self.has_default:
            return None
        key = _key(value)
        if key in self.table:
            return self.table[key]
        if self.has_default:
            return self.default
        raise RuleFailed(f"no entry for {str(key)[:100]!r} in the lookup table")


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


@register
class Required(Rule):
    """``{"rule": "required"}``: a missing or empty value is an error."""

    name = "required"

    def apply(self, value: Any) -> Any:
        if empty(value):
            raise RuleFailed("is required but missing or empty")
        return value


OPS = ("equals", "not_equals", "in", "not_in", "empty", "not_empty")


@register
class DropIf(Rule):
    """``{"rule": "drop_if", "op": "equals", "value": "unsubscribed"}``: the record is
    left out when the condition holds for this field's value. ``op`` is one of OPS;
    ``in`` and ``not_in`` take a list as ``value``; ``empty`` and ``not_empty`` none."""

    name = "drop_if"
    params = ("op", "value")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.op = params.text("op", choices=OPS)
        if self.op in ("empty", "not_empty"):
            if params.has("value"):
                raise params.fail("value", f"{self.op} takes no value")
            self.value: Any = None
        elif self.op in ("in", "not_in"):
            values = params.get("value")
            if not isinstance(values, list) or not values:
                raise params.fail("value", f"{self.op} needs a non-empty list")
            self.value = {_key(v) for v in values}
        else:
            if not params.has("value"):
                raise params.fail("value", "is required")
            self.value = _scalar(params, "value")

    def apply(self, value: Any) -> Any:
        if self._holds(value):
            raise Drop
        return value

    def _holds(self, value: Any) -> bool:
        if self.op == "empty":
            return empty(value)
        if self.op == "not_empty":
            return not empty(value)
        if self.op in ("in", "not_in"):
            return (_key(value) in self.value) == (self.op == "in")
        return (value == self.value) == (self.op == "equals")
