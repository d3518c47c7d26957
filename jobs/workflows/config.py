"""A workflow checked as a whole before it is saved: trigger, conditions and actions, each
error naming its JSON path (``trigger_config.cron``, ``conditions.all[1].op``,
``actions[0].slack_channel``).

Triggers:

    webhook    {"event": "contact.creation"}: a provider event on the workflow's
               integration (a misspelt event name is named with the closest real one)
    schedule   {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    condition  {"check": "health_below", "threshold": 60} (the integration's health score
               falling below it) or {"check": "sync_failed"} (any of its flows' syncs
               failing; ``data_flow`` narrows it to one)
    manual     {}: runs only when executed
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.egress import check_public_url, own_sandboxes
from connectors.registry import connector_spec
from jobs.flow_schedule import check_schedule, next_run_at
from jobs.workflows.actions import Directory, IntegrationRef, check_steps
from jobs.workflows.conditions import check_conditions
from jobs.workflows.templates import is_template
from store.errors import ValidationFailed

TRIGGERS = ("webhook", "schedule", "condition", "manual")
CHECKS = ("health_below", "sync_failed")


@dataclass(frozen=True)
class Checked:
    trigger_config: dict[str, Any]
    trigger_event: str | None
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    next_run_at: datetime | None


def _unknown_keys(config: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    extra = sorted(set(config) - set(allowed))
    if extra:
        has = ", ".join(allowed) if allowed else "nothing"
        raise ValidationFailed(f"unknown key {extra[0]!r} (a {what} trigger takes {has})",
                               field=f"trigger_config.{extra[0]}")


def check_trigger(trigger_type: str, config: dict[str, Any], integration: IntegrationRef,
                  directory: Directory, known_events: list[str]) -> tuple[dict[str, Any],
                                                                         str | None]:
    """The trigger's config as stored, and the event it listens for (webhooks only)."""
    if trigger_type == "webhook":
        _unknown_keys(config, ("event",), "webhook")
        event = config.get("event")
        if not isinstance(event, str) or not event.strip() or len(event) > 100:
            raise ValidationFailed('is required: the provider event to run on, e.g. '
                                   '"contact.creation"', field="trigger_config.event")
        spec = connector_spec(integration.provider)
        if spec is None or spec.webhooks is None:
            raise ValidationFailed(f"{integration.provider} sends no webhooks, so a webhook "
                                   "trigger on it never fires", field="integration")
        event = event.strip()
        if known_events and event not in known_events:
            close = difflib.get_close_matches(event, known_events, n=1, cutoff=0.6)
            if close:
                raise ValidationFailed(f"{integration.provider} sends no {event!r} event; did "
                                       f"you mean {close[0]!r}? (events: "
                                       f"{', '.join(known_events)})", field="trigger_config.event")
        return {"event": event}, event
    if trigger_type == "schedule":
        try:
            return check_schedule("cron", config), None
        except ValidationFailed as exc:
            field = exc.details[0]["field"].replace("schedule.", "trigger_config.") \
                if exc.details else "trigger_config"
            raise ValidationFailed(exc.details[0]["message"] if exc.details else exc.message,
                                   field=field) from None
    if trigger_type == "condition":
        return _check_condition_trigger(config, integration, directory), None
    _unknown_keys(config, (), "manual")
    return {}, None


def _check_condition_trigger(config: dict[str, Any], integration: IntegrationRef,
                             directory: Directory) -> dict[str, Any]:
    check = config.get("check")
    if check not in CHECKS:
        raise ValidationFailed(f"is required: one of {', '.join(CHECKS)}",
                               field="trigger_config.check")
    if check == "health_below":
        _unknown_keys(config, ("check", "threshold"), "health_below")
        threshold = config.get("threshold", 60)
        if isinstance(threshold, bool) or not isinstance(threshold, int) \
                or not 1 <= threshold <= 100:
            raise ValidationFailed("must be a whole number from 1 to 100",
                                   field="trigger_config.threshold")
        return {"check": check, "threshold": threshold}
    _unknown_keys(config, ("check", "data_flow"), "sync_failed")
    if config.get("data_flow") in (None, ""):
        return {"check": check}
    flow = directory.flow(config["data_flow"], "trigger_config.data_flow")
    if flow.integration_id != integration.id:
        raise ValidationFailed(f"data flow {flow.name!r} belongs to another integration",
                               field="trigger_config.data_flow")
    return {"check": check, "data_flow": str(flow.id)}


async def check_workflow(trigger_type: str, trigger_config: dict[str, Any],
                         conditions: Any, actions: Any, integration: IntegrationRef,
                         directory: Directory, *, known_events: list[str],
                         allow_private: bool) -> Checked:
    if trigger_type not in TRIGGERS:
        raise ValidationFailed(f"must be one of {', '.join(TRIGGERS)}", field="trigger_type")
    config, event = check_trigger(trigger_type, trigger_config, integration, directory,
                                  known_events)
    checked_conditions = check_conditions(conditions)
    steps = check_steps(actions, directory)
    for n, step in enumerate(steps):
        url = step.get("url")
        if step["type"] == "http_request" and isinstance(url, str) and not is_template(url):
            await check_public_url(url, field=f"actions[{n}].url", allow_private=allow_private,
                                   allowed=own_sandboxes())
    due = next_run_at("cron", config) if trigger_type == "schedule" else None
    return Checked(config, event, checked_conditions, steps, due)
