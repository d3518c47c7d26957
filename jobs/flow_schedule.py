"""When a data flow runs next: fixed frequencies, or a cron expression in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter

from store.errors import ValidationFailed

FREQUENCIES = ("realtime", "hourly", "daily", "weekly", "manual", "cron")
EVERY = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_CRON = 100
# a realtime flow also runs a delta this often, in case a webhook was lost
REALTIME_SAFETY_NET = timedelta(hours=1)


def check_schedule(frequency: str, schedule: dict[str, Any]) -> dict[str, Any]:
    """The schedule as stored: ``{"cron": ..., "timezone": ...}`` for cron, else ``{}``."""
    if frequency != "cron":
        if schedule:
            raise ValidationFailed(f"only a cron flow has a schedule; this one runs "
                                   f"{frequency}", field="schedule")
        return {}
    unknown = sorted(set(schedule) - {"cron", "timezone"})
    if unknown:
        raise ValidationFailed(f"unknown key {unknown[0]!r} (a schedule has cron and "
                               "timezone)", field=f"schedule.{unknown[0]}")
    expression = schedule.get("cron")
    if not isinstance(expression, str) or not expression.strip():
        raise ValidationFailed('is required for sync_frequency "cron", e.g. "0 6 * * 1-5"',
                               field="schedule.cron")
    if len(expression) > MAX_CRON or len(expression.split()) != 5 \
            or not croniter.is_valid(expression):
        raise ValidationFailed(f"{expression[:MAX_CRON]!r} is not a cron expression of five "
                               "fields (minute hour day month weekday)", field="schedule.cron")
    zone = schedule.get("timezone", "UTC")
    if not isinstance(zone, str) or not _zone(zone):
        raise ValidationFailed(f"unknown time zone {zone!r} (an IANA name such as "
                               "'Europe/Berlin')", field="schedule.timezone")
    return {"cron": expression.strip(), "timezone": zone}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def next_run_at(frequency: str, schedule: dict[str, Any],
                after: datetime | None = None) -> datetime | None:
    """The next due time after ``after`` (now); None for realtime and manual flows."""
    now = after or datetime.now(UTC)
    if frequency in EVERY:
        return now + EVERY[frequency]
    if frequency == "cron":
        zone = _zone(schedule.get("timezone", "UTC")) or UTC
        try:
            found: datetime = croniter(schedule["cron"], now.astimezone(zone)).get_next(datetime)
        except (CroniterBadCronError, KeyError, ValueError):
            return None
        return found.astimezone(UTC)
    return None


def next_slot(frequency: str, schedule: dict[str, Any], after: datetime) -> datetime | None:
    """The next time after ``after`` the flow is meant to run, a realtime flow's safety-net
    delta included; None for a manual flow."""
    if frequency == "realtime":
        return after + REALTIME_SAFETY_NET
    return next_run_at(frequency, schedule, after)
