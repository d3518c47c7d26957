"""Regex extract, with patterns that cannot backtrack without bound.

Python's ``re`` has no timeout, so a pattern is refused when it could blow up
exponentially: longer than MAX_PATTERN, a quantified group that itself holds a
quantifier or an alternation (``(a+)+``, ``(\\w*)*``, ``(a|aa){2,}``), or a
back-reference. Adjacent unbounded quantifiers (``\\d+\\d+``) backtrack polynomially,
so a pattern has at most MAX_UNBOUNDED of them and works on at most MAX_INPUT
characters: the worst case has a ceiling.
"""

from __future__ import annotations

import re
from typing import Any

from jobs.mapping.model import Params, Rule, RuleFailed, each, register, text_of

MAX_PATTERN = 200
MAX_UNBOUNDED = 3
MAX_INPUT = 1_000
_UNBOUNDED = re.compile(r"(?<!\\)(?:[*+]|\{\d+,\})")
_QUANTIFIER = re.compile(r"(?<!\\)(?:[*+?]|\{\d+(?:,\d*)?\})")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")


def _nested_quantifier(pattern: str) -> bool:
    """Whether a group that holds a quantifier or an alternation is itself quantified."""
    stack: list[bool] = []  # per open group: does it hold a quantifier/alternation?
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # a class: skip to its end, quantifiers inside are literal
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            if stack and _QUANTIFIER.match(pattern, i):
                stack[-1] = True
            continue
        if ch == "(":
            stack.append(False)
        elif ch == ")" and stack:
            inner = stack.pop()
            quantified = _QUANTIFIER.match(pattern, i + 1) is not None
            if inner and quantified:
                return True
            if stack and (inner or quantified):
                stack[-1] = True
        elif ch == "|" and stack:
            stack[-1] = True
        elif stack and _QUANTIFIER.match(pattern, i):
            stack[-1] = True
        i += 1
    return False


def _outside_classes(pattern: str) -> str:
    """The pattern without its [...] classes and escapes, whose * and + are literal."""
    return re.sub(r"\\.|\[(?:\\.|[^\]])*\]", "", pattern)


@register
class RegexExtract(Rule):
    """``{"rule": "regex_extract", "pattern": "(\\d{5})", "group": 1}``; no match: None."""

    name = "regex_extract"
    params = ("pattern", "group")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        pattern = params.text("pattern", non_empty=True, max_length=MAX_PATTERN)
        if _nested_quantifier(pattern) or _BACKREF.search(pattern):
            raise params.fail("pattern", "may backtrack without bound (a quantified group "
                              "holding a quantifier or alternation, or a back-reference); "
                              "simplify it")
        if len(_UNBOUNDED.findall(_outside_classes(pattern))) > MAX_UNBOUNDED:
            raise params.fail("pattern", f"has more than {MAX_UNBOUNDED} unbounded "
                              "repetitions (*, +, {n,}); bound some, e.g. \\d{1,10}")
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise params.fail("pattern", f"is not a valid regular expression: {exc}") from None
        default = 1 if self.pattern.groups else 0
        group = params.get("group", default)
        if isinstance(group, str):
            if group not in self.pattern.groupindex:
                raise params.fail("group", f"the pattern has no group named {group!r}")
        elif isinstance(group, bool) or not isinstance(group, int) \
                or not 0 <= group <= self.pattern.groups:
            raise params.fail("group", f"must be a group name or a number from 0 to "
                              f"{self.pattern.groups}")
        self.group: int | str = group

    def apply(self, value: Any) -> Any:
        def one(v: Any) -> Any:
            text = text_of(v, "regex_extract")
            if text is None:
                return None
            if len(text) > MAX_INPUT:
                raise RuleFailed(f"regex_extract works on at most {MAX_INPUT} characters; "
                                 f"this value has {len(text)}")
            found = self.pattern.search(text)
            return found.group(self.group) if found else None
        return each(value, one)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` may not be used (too long, unbounded backtracking, not a regex), or
    None: the one check for every user-given pattern (workflow conditions use it too)."""
    if len(pattern) > MAX_PATTERN:
        return f"is longer than {MAX_PATTERN} characters"
    if _nested_quantifier(pattern) or _BACKREF.search(pattern):
        return ("may backtrack without bound (a quantified group holding a quantifier or "
                "alternation, or a back-reference); simplify it")
    if len(_UNBOUNDED.findall(_outside_classes(pattern))) > MAX_UNBOUNDED:
        return (f"has more than {MAX_UNBOUNDED} unbounded repetitions (*, +, {{n,}}); bound "
                "some, e.g. \\d{1,10}")
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None
