"""Text rules: trim, case, split, join, concat."""

from __future__ import annotations

from typing import Any

from jobs.mapping.model import MAX_TEXT, Params, Rule, RuleFailed, each, empty, register, text_of


@register
class Trim(Rule):
    """Leading and trailing whitespace removed."""

    name = "trim"

    def apply(self, value: Any) -> Any:
        if isinstance(value, str):  # one value (most mappings): no call per item
            return value.strip()
        return each(value, lambda v: v.strip() if isinstance(v, str) else v)


@register
class Case(Rule):
    """``{"rule": "case", "to": "lower" | "upper" | "title"}``"""

    name = "case"
    params = ("to",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.to = params.text("to", choices=("lower", "upper", "title"))
        self._change = {"lower": str.lower, "upper": str.upper, "title": str.title}[self.to]

    def apply(self, value: Any) -> Any:
        change = self._change
        if isinstance(value, str):  # one value (most mappings): no call per item
            return change(value)
        return each(value, lambda v: change(v) if isinstance(v, str) else v)


@register
class Split(Rule):
    """``{"rule": "split", "separator": ",", "trim": true}``: text into a list."""

    name = "split"
    params = ("separator", "trim")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.separator = params.text("separator", ",", non_empty=True)
        self.trim = params.flag("trim", False)

    def apply(self, value: Any) -> Any:
        text = text_of(value, "split")
        if text is None:
            return None
        parts = text.split(self.separator)
        return [p.strip() for p in parts] if self.trim else parts


@register
class Join(Rule):
    """``{"rule": "join", "separator": ", "}``: a list into text; empty items are kept."""

    name = "join"
    params = ("separator",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.separator = params.text("separator", "")

    def apply(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return _joined([_plain(v) for v in value if v is not None], self.separator)


@register
class Concat(Rule):
    """``{"rule": "concat", "separator": " "}``: a multi-source mapping's values as one
    text, leaving out the empty ones (no double spaces for a missing middle name)."""

    name = "concat"
    params = ("separator",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.separator = params.text("separator", " ")

    def apply(self, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return _joined([_plain(v) for v in items if not empty(v)], self.separator) or None


def _plain(value: Any) -> str:
    if isinstance(value, dict | list):
        raise RuleFailed("cannot join a nested object or list as text")
    return text_of(value, "join") or ""


def _joined(parts: list[str], separator: str) -> str:
    joined = separator.join(parts)
    if len(joined) > MAX_TEXT:
        raise RuleFailed(f"the joined text is longer than {MAX_TEXT} characters")
    return joined
