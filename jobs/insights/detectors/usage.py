"""From the hourly usage counts: error spikes against the integration's own baseline,
and a daily quota forecast to run out before it resets."""

from __future__ import annotations

import statistics
from datetime import datetime

from jobs.insights.finding import HOUR, WINDOW, Finding, Snapshot
from jobs.insights.forecast import forecast

RECENT_HOURS = 3  # the spike window, this hour included
MIN_BASELINE_HOURS = 24  # hours with calls before an integration has a baseline
MIN_ERRORS_PER_HOUR = 10
SPIKE_FACTOR = 3.0
SIGMAS = 3.0
SOON = 3 * HOUR  # a quota that runs out sooner than this is high priority


def error_spikes(snap: Snapshot) -> list[Finding]:
    found = []
    for integration_id, hours in snap.usage.items():
        integration = snap.integrations.get(integration_id)
        if integration is None:
            continue
        recent_start = snap.hour - HOUR * (RECENT_HOURS - 1)
        recent = sum(errors for hour, (_, errors) in hours.items() if hour >= recent_start)
        span = int((recent_start - (snap.now - WINDOW)).total_seconds() // 3600)
        base = [hours.get(recent_start - HOUR * k, (0, 0)) for k in range(1, span + 1)]
        if sum(1 for calls, _ in base if calls) < MIN_BASELINE_HOURS:
            continue
        per_hour = recent / RECENT_HOURS
        errors = [e for _, e in base]
        mean, spread = statistics.fmean(errors), statistics.pstdev(errors)
        if per_hour < MIN_ERRORS_PER_HOUR or per_hour < max(SPIKE_FACTOR * mean,
                                                            mean + SIGMAS * spread):
            continue
        found.append(Finding(
            detector="error_spike", subject=str(integration_id), integration_id=integration_id,
            insight_type="error", priority="high",
            title=f"Errors from {integration.name} are spiking",
            description=(f"{per_hour:.0f} failed calls an hour over the last {RECENT_HOURS} "
                         f"hours, against {mean:.1f} an hour (standard deviation "
                         f"{spread:.1f}) in its past week."),
            recommendation="Read its latest health logs for the cause (authentication, "
                           "rate limits, the provider being down) and act on it.",
            action_items=(f"GET /integrations/health-logs/?integration={integration_id}",),
            details={"errors_per_hour": round(per_hour, 1), "baseline_per_hour": round(mean, 2),
                     "baseline_sigma": round(spread, 2)}))
    return found


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def rate_limit_forecasts(snap: Snapshot) -> list[Finding]:
    found = []
    for integration in snap.integrations.values():
        if not integration.daily_limit:
            continue
        hourly = {hour: calls for hour, (calls, _) in snap.usage.get(integration.id, {}).items()}
        seen = forecast(hourly, integration.daily_limit, snap.now)
        if seen is None:
            continue
        spent = seen.used >= seen.limit
        top = seen.runs_out_at.replace(minute=0, second=0, microsecond=0)
        found.append(Finding(
            detector="rate_limit_forecast", subject=str(integration.id),
            integration_id=integration.id, insight_type="prediction",
            priority="critical" if spent else
            "high" if seen.runs_out_at - snap.now <= SOON else "medium",
            title=(f"{integration.name} has used its daily API limit" if spent else
                   f"{integration.name} will run out of API calls before the reset"),
            description=(f"{seen.used:,} of the daily limit of {seen.limit:,} calls used; calls "
                         f"wait for the reset at {_clock(seen.resets_at)}." if spent else
                         f"At this rate ({seen.rate:,.0f} calls an hour) the daily limit of "
                         f"{seen.limit:,} runs out at {top.strftime('%H:00')} UTC (about "
                         f"{_clock(seen.runs_out_at)}), before the reset at "
                         f"{_clock(seen.resets_at)}; {seen.used:,} used so far today."),
            recommendation="Sync less often or fewer streams until the reset, or raise the "
                           "limit with the provider (api_calls_limit follows it).",
            action_items=("Lower the busiest flow's sync_frequency: PATCH "
                          "/integrations/data-flows/{id}/",),
            details={"limit": seen.limit, "used": seen.used, "rate_per_hour": round(seen.rate, 1),
                     "runs_out_at": seen.runs_out_at.isoformat(),
                     "runs_out_hour": top.isoformat(), "resets_at": seen.resets_at.isoformat()}))
    return found
