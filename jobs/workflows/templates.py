"""Templated action parameters: Jinja2's sandbox, never eval.

A parameter's text may read the trigger's event, the fetched record and earlier steps'
outputs: ``"New lead: {{ record.properties.email }}"``, ``"{{ steps.crm.contact_id }}"``
(a step's ``id``) or ``"{{ steps[0].contact_id }}"`` (its position). A text that is one
expression and nothing else (``"{{ record }}"``) gives the value itself, not its text,
so a JSON body can carry whole objects.

What a template may do is smaller than Jinja's whole language: expressions, filters and
``{% if %}``, but no loops, macros, assignments, includes or inheritance, and no repeating
a text or list, or raising to a power, past ``MAX_OUTPUT``; the sandbox keeps every
attribute that reaches Python's internals out of reach. A missing field renders as
nothing (``{{ record.nope.deeper }}`` is ""), but a misspelt root (``{{ evnt.x }}``) is
refused when the workflow is saved, with the parameter's path.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from store.errors import ValidationFailed

ROOTS = ("event", "record", "steps", "trigger", "workflow", "run", "now")
MAX_TEMPLATE = 4_000
MAX_OUTPUT = 64 * 1024
FORBIDDEN = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Include,
             nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block, nodes.Assign,
             nodes.AssignBlock, nodes.With, nodes.Scope, nodes.OverlayScope)
_ONE_EXPRESSION = re.compile(r"\A\{\{\s*(?P<expr>(?:(?!\}\}|\{\{).)+?)\s*\}\}\Z", re.S)
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow}


class _Sandbox(SandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` bounded: ``'x' * 10**9`` is refused, not built."""

    intercepted_binops = frozenset(_BINOPS)

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) \
                        and len(seq) * times > MAX_OUTPUT:
                    raise SecurityError(f"repeating that would exceed {MAX_OUTPUT} items")
        if op == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponents above 64 are refused")
        return _BINOPS[op](left, right)


ENV = _Sandbox(undefined=ChainableUndefined, autoescape=False,
               finalize=lambda value: "" if value is None else value)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check(text: str, field: str) -> None:
    """Refuse, naming ``field``, a template that is malformed, too long, uses what the
    sandbox does not offer here, or reads a root other than ``ROOTS``."""
    if len(text) > MAX_TEMPLATE:
        raise ValidationFailed(f"a template may be at most {MAX_TEMPLATE} characters",
                               field=field)
    try:
        tree = ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise ValidationFailed(f"is not a valid template (line {exc.lineno}): {exc.message}",
                               field=field) from None
    for node in tree.find_all(FORBIDDEN):
        kind = type(node).__name__.lower()
        raise ValidationFailed(f"templates here may not use {kind} blocks (only expressions, "
                               "filters and {% if %})", field=field)
    unknown = sorted(meta.find_undeclared_variables(tree) - set(ROOTS) - set(ENV.globals))
    if unknown:
        raise ValidationFailed(f"the template reads {unknown[0]!r}, which is not there; "
                               f"templates read {', '.join(ROOTS)}", field=field)


def check_all(value: Any, field: str) -> None:
    """``check`` every template inside a JSON value, each named by its own path."""
    if is_template(value):
        check(value, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_all(item, f"{field}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            check_all(item, f"{field}[{n}]")


def render(value: Any, context: dict[str, Any], field: str) -> Any:
    """``value`` with every template in it rendered against ``context``; plain values
    as they are. A template that fails at run time is the workflow's error, named."""
    if isinstance(value, dict):
        return {key: render(item, context, f"{field}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context, f"{field}[{n}]") for n, item in enumerate(value)]
    if not is_template(value):
        return value
    try:
        one = _ONE_EXPRESSION.match(value)
        if one is not None:
            found = ENV.compile_expression(one["expr"], undefined_to_none=True)(**context)
            if isinstance(found, ChainableUndefined):
                return None
            _bounded(found, field)
            return found
        text = ENV.from_string(value).render(**context)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
        raise ValidationFailed(f"the template failed: {exc}", field=field) from None
    _bounded(text, field)
    return text


def _bounded(found: Any, field: str) -> None:
    if isinstance(found, str) and len(found) > MAX_OUTPUT:
        raise ValidationFailed(f"the template's result is longer than {MAX_OUTPUT} characters",
                               field=field)
