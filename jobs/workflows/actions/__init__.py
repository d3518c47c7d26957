"""The action library, as data: each action's name, parameters and coroutine, one module
each, listed here. ``check_step`` is the check on save; ``prepare`` renders a step's
templates and validates the result just before it runs."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from jobs.workflows import templates
from jobs.workflows.actions import contacts, flows, http, marketing, notify
from jobs.workflows.actions.base import (
    ActionContext,
    ActionRefused,
    ActionSpec,
    Directory,
    FlowRef,
    IntegrationRef,
    Params,
    Postpone,
)
from store.errors import ValidationFailed

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for spec in (
    contacts.CREATE, contacts.UPDATE, notify.ACTION, marketing.MAILCHIMP, marketing.ZAPIER,
    flows.SYNC, http.ACTION, flows.DELAY)}
MAX_STEPS = 50
STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
RESERVED = ("type", "id")

__all__ = ["ACTIONS", "ActionContext", "ActionRefused", "ActionSpec", "Directory", "FlowRef",
           "IntegrationRef", "Params", "Postpone", "check_steps", "describe", "prepare",
           "repeatable"]


def describe() -> list[dict[str, Any]]:
    return [spec.describe() for spec in ACTIONS.values()]


def check_steps(steps: Any, directory: Directory) -> list[dict[str, Any]]:
    """The actions as stored (with what was resolved, such as the Slack integration), or
    ValidationFailed naming every step at fault, each by its path."""
    if not isinstance(steps, list) or not steps:
        raise ValidationFailed("a workflow needs at least one action", field="actions")
    if len(steps) > MAX_STEPS:
        raise ValidationFailed(f"a workflow may have at most {MAX_STEPS} actions",
                               field="actions")
    checked, problems, ids = [], [], set[str]()
    for n, step in enumerate(steps):
        try:
            checked.append(_check_step(step, n, directory, ids))
        except ValidationFailed as exc:
            problems.extend(exc.details or [{"field": f"actions[{n}]", "message": exc.message}])
    if problems:
        raise ValidationFailed("; ".join(f"{p['field']}: {p['message']}" for p in problems),
                               details=problems)
    return checked


def _check_step(step: Any, n: int, directory: Directory, ids: set[str]) -> dict[str, Any]:
    where = f"actions[{n}]"
    if not isinstance(step, dict):
        raise ValidationFailed('must be an object with a "type"', field=where)
    kind = step.get("type")
    spec = ACTIONS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        close = difflib.get_close_matches(str(kind), list(ACTIONS), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValidationFailed(f"unknown action type {kind!r}; {hint}(actions: "
                               f"{', '.join(ACTIONS)})", field=f"{where}.type")
    step_id = step.get("id")
    if step_id is not None:
        if not isinstance(step_id, str) or not STEP_ID.fullmatch(step_id):
            raise ValidationFailed("a step id is a name of letters, digits and _ (at most "
                                   "40), so templates can read steps.<id>", field=f"{where}.id")
        if step_id in ids:
            raise ValidationFailed(f"another step already has id {step_id!r}",
                                   field=f"{where}.id")
        ids.add(step_id)
    params = {k: v for k, v in step.items() if k not in RESERVED}
    templated = set()
    for name, value in params.items():
        if name in spec.params.templated:
            templates.check_all(value, f"{where}.{name}")
            if _has_template(value):
                templated.add(name)
        elif _has_template(value):
            raise ValidationFailed(f"{spec.name} does not take templates in {name!r} (only "
                                   f"in {', '.join(sorted(spec.params.templated)) or 'none'})",
                                   field=f"{where}.{name}")
    plain = {k: v for k, v in params.items() if k not in templated}
    try:
        spec.params.model_validate(plain)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            if loc and loc[0] in templated:
                continue
            raise ValidationFailed(_message(error), field=".".join([where, *loc])) from None
    resolved = spec.resolve(plain, directory, where) if spec.resolve else {}
    return {"type": spec.name, **({"id": step_id} if step_id else {}), **params, **resolved}


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "is not a parameter of this action"
    return str(error["msg"])


def _has_template(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return templates.is_template(value)


def repeatable(step: dict[str, Any]) -> bool:
    """Whether doing the step twice leaves what doing it once did (an upsert by key)."""
    spec = ACTIONS.get(step.get("type", ""))
    return spec is not None and spec.repeatable(step)


def prepare(step: dict[str, Any], values: dict[str, Any], where: str) -> tuple[ActionSpec,
                                                                              Params]:
    """The step's action and its parameters rendered and validated; ValidationFailed
    (stopping the run) names the parameter when a template gives a wrong value."""
    spec = ACTIONS.get(step.get("type", ""))
    if spec is None:
        raise ValidationFailed(f"unknown action type {step.get('type')!r}",
                               field=f"{where}.type")
    params = {k: v for k, v in step.items() if k not in RESERVED}
    rendered = {k: templates.render(v, values, f"{where}.{k}")
                if k in spec.params.templated else v for k, v in params.items()}
    try:
        return spec, spec.params.model_validate(rendered)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join([where, *(str(p) for p in error["loc"])])
        raise ValidationFailed(f"{_message(error)} (after templating)", field=field) from None
