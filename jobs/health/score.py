"""The health formula: 100 minus the points each input costs, each input capped, and
every point lost explained in words a person understands.

    input        most lost  rule
    connection   40         reconnect needed 40; token expired, no refresh 40; token
                            expiring without a refresh: <1 day 25, <3 days 15, <7 days 8;
                            last call failed 15
    syncs        30         30 x the share of the last day's finished syncs that failed
    errors       25         open (unresolved) logs of the last day: critical 10,
                            error 4, warning 1
    quota        20         used today: 0 below 70% of the limit, to 20 at 100%; or 15
                            when the current pace runs out before the reset
    staleness    20         10 for each active flow that missed two of its own runs
    webhooks     10         deliveries gone quiet for 4x their usual gap (at least 1 h)

The predictive inputs (an expiring token, a quota the pace will exhaust, webhooks gone
quiet) cost points while everything still works: that is their purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jobs.health.inputs import HealthInputs

CAPS = {"connection": 40, "syncs": 30, "errors": 25, "quota": 20, "staleness": 20,
        "webhooks": 10}
SEVERITY_POINTS = {"critical": 10, "error": 4, "warning": 1}
QUOTA_FROM = 0.7  # below this share of the limit usage costs nothing
FORECAST_POINTS = 15
STALE_POINTS = 10
QUIET_FACTOR = 4
QUIET_AT_LEAST = timedelta(hours=1)
MIN_EVENTS = 5  # fewer deliveries in the baseline week say nothing about a usual gap
EXPIRY_STEPS = ((timedelta(days=1), 25), (timedelta(days=3), 15), (timedelta(days=7), 8))
HEALTHY, WARNING = 80, 50  # at or above: healthy; at or above: warning; else critical


@dataclass
class Reason:
    input: str
    points: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "points": self.points, "reason": self.reason}


@dataclass
class Score:
    score: int
    status: str
    reasons: list[Reason] = field(default_factory=list)


def status_of(score: int) -> str:
    return "healthy" if score >= HEALTHY else "warning" if score >= WARNING else "critical"


def score(inputs: HealthInputs, now: datetime) -> Score:
    found = [r for r in (_connection(inputs, now), _syncs(inputs), _errors(inputs),
                         _quota(inputs, now), _staleness(inputs), _webhooks(inputs, now))
             if r is not None and r.points > 0]
    for reason in found:
        reason.points = min(reason.points, CAPS[reason.input])
    found.sort(key=lambda r: -r.points)
    total = max(0, 100 - sum(r.points for r in found))
    return Score(total, status_of(total), found)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def _connection(inputs: HealthInputs, now: datetime) -> Reason | None:
    if inputs.status == "reconnect_needed":
        return Reason("connection", 40, "the provider refused the stored credentials; "
                      "reconnect the integration")
    expires = inputs.token_expires_at
    if expires is not None and not inputs.can_refresh:
        if expires <= now:
            return Reason("connection", 40, f"the access token expired {_span(now - expires)} "
                          "ago and cannot be renewed; reconnect the integration")
        for within, points in EXPIRY_STEPS:
            if expires - now <= within:
                return Reason("connection", points, f"the access token expires in "
                              f"{_span(expires - now)} ({expires:%Y-%m-%d %H:%M} UTC) and "
                              "cannot be renewed; reconnect before then")
    if inputs.status == "error":
        said = f": {inputs.last_error}" if inputs.last_error else ""
        return Reason("connection", 15, f"the last call to the provider failed{said}")
    return None


def _syncs(inputs: HealthInputs) -> Reason | None:
    if not inputs.runs_failed:
        return None
    last = f" (last: {inputs.last_failure})" if inputs.last_failure else ""
    return Reason("syncs", round(CAPS["syncs"] * inputs.runs_failed / inputs.runs_finished),
                  f"{inputs.runs_failed} of {inputs.runs_finished} syncs in the last 24 h "
                  f"failed{last}")


def _errors(inputs: HealthInputs) -> Reason | None:
    counted = {s: n for s, n in inputs.open_logs.items() if s in SEVERITY_POINTS and n}
    if not counted:
        return None
    points = sum(SEVERITY_POINTS[s] * n for s, n in counted.items())
    told = ", ".join(f"{n} {s}" for s, n in sorted(
        counted.items(), key=lambda item: -SEVERITY_POINTS[item[0]]))
    latest = f" (latest: {inputs.latest_log})" if inputs.latest_log else ""
    return Reason("errors", points, f"unresolved in the last 24 h: {told}{latest}")


def _quota(inputs: HealthInputs, now: datetime) -> Reason | None:
    if not inputs.limit:
        return None
    used, limit = inputs.used_today, inputs.limit
    share = used / limit
    found: Reason | None = None
    if share >= QUOTA_FROM:
        points = round(CAPS["quota"] * min(1.0, (share - QUOTA_FROM) / (1 - QUOTA_FROM)))
        found = Reason("quota", points, f"{used:,} of today's {limit:,} calls used "
                       f"({share:.0%})")
    pace = inputs.recent_operations / inputs.recent_hours
    reset = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if pace > 0 and used < limit:
        empty_at = now + timedelta(hours=(limit - used) / pace)
        if empty_at < reset and (found is None or found.points < FORECAST_POINTS):
            found = Reason("quota", FORECAST_POINTS, f"at the current pace of {pace:,.0f} "
                           f"calls/h the daily limit of {limit:,} runs out at about "
                           f"{empty_at:%H:%M} UTC, {_span(reset - empty_at)} before it "
                           f"resets ({used:,} used so far)")
    return found


def _staleness(inputs: HealthInputs) -> Reason | None:
    if not inputs.stale_flows:
        return None
    told = "; ".join(
        f"{f.name} ({f.frequency}) has not run for {_span(f.idle)}" if f.last_run_at else
        f"{f.name} ({f.frequency}) has never run in {_span(f.idle)}"
        for f in inputs.stale_flows)
    return Reason("staleness", STALE_POINTS * len(inputs.stale_flows), told)


def _webhooks(inputs: HealthInputs, now: datetime) -> Reason | None:
    if inputs.webhook_events < MIN_EVENTS or inputs.first_event_at is None \
            or inputs.last_event_at is None:
        return None
    gap = (inputs.last_event_at - inputs.first_event_at) / (inputs.webhook_events - 1)
    quiet = now - inputs.last_event_at
    if quiet <= max(QUIET_FACTOR * gap, QUIET_AT_LEAST):
        return None
    return Reason("webhooks", CAPS["webhooks"], f"no webhook delivery for {_span(quiet)}, "
                  f"though one came about every {_span(gap)} before; check the provider's "
                  "webhook subscription")
