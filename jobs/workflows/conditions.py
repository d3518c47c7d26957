"""Workflow conditions: structured JSON, checked on save, evaluated without eval.

A condition is a rule or a combination of them::

    {"all": [{"field": "record.properties.lifecyclestage", "op": "equals", "value": "lead"},
             {"not": {"field": "record.properties.email", "op": "contains",
                      "value": "@example.com"}}]}

``all`` (every one), ``any`` (at least one), ``not`` (the opposite); a rule reads
``field``, a dotted path from ``event``, ``record`` or ``trigger`` (list items by
number: ``event.items.0.id``), and compares it with ``value`` by ``op``: equals,
not_equals, gt, gte, lt, lte, contains, not_contains, in, not_in, exists, not_exists,
regex. ``{}`` is no condition. A number compares with a number written as text
(HubSpot sends every property as text); other values compare as they are.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from jobs.mapping.rules.regex import MAX_INPUT, pattern_problem
from store.errors import ValidationFailed

OPS = ("equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "not_contains", "in",
       "not_in", "exists", "not_exists", "regex")
ROOTS = ("event", "record", "trigger")
MAX_DEPTH = 10
MAX_RULES = 100
_MISSING = object()


def check_conditions(tree: Any, field: str = "conditions") -> dict[str, Any]:
    """The condition as stored, or ValidationFailed naming the JSON path at fault."""
    if tree in (None, {}):
        return {}
    counter = [0]
    _check(tree, field, 0, counter)
    return dict(tree)


def _check(node: Any, path: str, depth: int, counter: list[int]) -> None:
    if not isinstance(node, dict):
        raise ValidationFailed('must be an object: {"all": [...]}, {"any": [...]}, '
                               '{"not": {...}} or {"field": ..., "op": ..., "value": ...}',
                               field=path)
    if depth > MAX_DEPTH:
        raise ValidationFailed(f"conditions may nest at most {MAX_DEPTH} deep", field=path)
    groups = [key for key in ("all", "any", "not") if key in node]
    if groups:
        key = groups[0]
        extra = sorted(set(node) - {key})
        if extra:
            raise ValidationFailed(f"{key!r} stands alone; {extra[0]!r} does not belong "
                                   "beside it", field=f"{path}.{extra[0]}")
        if key == "not":
            _check(node["not"], f"{path}.not", depth + 1, counter)
            return
        items = node[key]
        if not isinstance(items, list) or not items:
            raise ValidationFailed("must be a non-empty list of conditions",
                                   field=f"{path}.{key}")
        for n, item in enumerate(items):
            _check(item, f"{path}.{key}[{n}]", depth + 1, counter)
        return
    counter[0] += 1
    if counter[0] > MAX_RULES:
        raise ValidationFailed(f"a workflow may have at most {MAX_RULES} condition rules",
                               field=path)
    _check_rule(node, path)


def _check_rule(rule: dict[str, Any], path: str) -> None:
    unknown = sorted(set(rule) - {"field", "op", "value"})
    if unknown:
        raise ValidationFailed(f"unknown key {unknown[0]!r} (a rule has field, op and value; "
                               "groups are all, any and not)", field=f"{path}.{unknown[0]}")
    target = rule.get("field")
    if not isinstance(target, str) or not target.strip():
        raise ValidationFailed('is required: the path to compare, e.g. "record.properties.'
                               'email"', field=f"{path}.field")
    root = target.split(".", 1)[0]
    if root not in ROOTS:
        raise ValidationFailed(f"must start with {', '.join(ROOTS)}; {root!r} is not there "
                               "when conditions are checked", field=f"{path}.field")
    op = rule.get("op")
    if op not in OPS:
        close = difflib.get_close_matches(str(op), OPS, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValidationFailed(f"unknown op {op!r}; {hint}(ops: {', '.join(OPS)})",
                               field=f"{path}.op")
    has_value, value = "value" in rule, rule.get("value")
    if op in ("exists", "not_exists"):
        if has_value:
            raise ValidationFailed(f"{op} takes no value", field=f"{path}.value")
        return
    if not has_value:
        raise ValidationFailed(f"{op} needs a value to compare with", field=f"{path}.value")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise ValidationFailed(f"{op} needs a list of values", field=f"{path}.value")
    if op in ("gt", "gte", "lt", "lte") and (isinstance(value, bool)
                                             or not isinstance(value, int | float | str)):
        raise ValidationFailed(f"{op} compares with a number or a text", field=f"{path}.value")
    if op == "regex":
        if not isinstance(value, str):
            raise ValidationFailed("regex needs a pattern as text", field=f"{path}.value")
        problem = pattern_problem(value)
        if problem:
            raise ValidationFailed(problem, field=f"{path}.value")


def roots(tree: dict[str, Any]) -> set[str]:
    """The roots a condition reads (``{"event"}``: it can be decided before any fetch)."""
    found: set[str] = set()
    stack: list[Any] = [tree] if tree else []
    while stack:
        node = stack.pop()
        if "field" in node:
            found.add(str(node["field"]).split(".", 1)[0])
        for key in ("all", "any"):
            stack.extend(node.get(key, []))
        if "not" in node:
            stack.append(node["not"])
    return found


def matches(tree: dict[str, Any], context: dict[str, Any]) -> bool:
    """Whether the (checked) condition holds; ``{}`` always does."""
    if not tree:
        return True
    if "all" in tree:
        return all(matches(item, context) for item in tree["all"])
    if "any" in tree:
        return any(matches(item, context) for item in tree["any"])
    if "not" in tree:
        return not matches(tree["not"], context)
    return _holds(tree["op"], read(context, tree["field"]), tree.get("value"))


def read(context: dict[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _same(left: Any, right: Any) -> bool:
    if left == right:
        return True
    a, b = _number(left), _number(right)
    return a is not None and b is not None and (isinstance(left, str) != isinstance(right, str)
                                                ) and a == b


def _order(left: Any, right: Any) -> tuple[Any, Any] | None:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a, b
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, str):
        return isinstance(needle, str | int | float) and str(needle) in haystack
    if isinstance(haystack, list):
        return any(_same(item, needle) for item in haystack)
    if isinstance(haystack, dict):
        return isinstance(needle, str) and needle in haystack
    return False


def _holds(op: str, found: Any, value: Any) -> bool:
    present = found is not _MISSING and found is not None
    if op in ("exists", "not_exists"):
        return present == (op == "exists")
    if op in ("not_equals", "not_in", "not_contains"):
        return not _holds(op[4:], found, value)
    if not present:
        return False
    if op == "equals":
        return _same(found, value)
    if op == "in":
        return any(_same(found, item) for item in value)
    if op == "contains":
        return _contains(found, value)
    if op == "regex":
        text = found if isinstance(found, str) else str(found)
        return re.search(value, text[:MAX_INPUT]) is not None
    pair = _order(found, value)
    if pair is None:
        return False
    a, b = pair
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
