"""When a daily quota runs out at the current trend, if before it resets (00:00 UTC).

The trend is a least-squares line through the last complete hours' calls, so a rising
load is forecast as rising. The current hour counts what it has used so far and the
rest of what the line expects of it; each later hour what the line expects.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from jobs.insights.finding import DAY, HOUR

FIT_HOURS = 6


@dataclass(frozen=True)
class Forecast:
    limit: int
    used: int  # today so far
    rate: float  # calls per hour the trend expects now
    runs_out_at: datetime  # when the limit is reached (now, when it already is)
    resets_at: datetime


def forecast(hourly: dict[datetime, int], limit: int, now: datetime) -> Forecast | None:
    """None when the quota lasts until its reset (or there is no trend to go by)."""
    current = now.replace(minute=0, second=0, microsecond=0)
    day = current.replace(hour=0)
    reset = day + DAY
    used = sum(calls for hour, calls in hourly.items() if day <= hour <= current)
    xs = list(range(-FIT_HOURS, 0))
    ys = [hourly.get(current + HOUR * x, 0) for x in xs]
    if used >= limit:
        return Forecast(limit, used, sum(ys) / FIT_HOURS, now, reset)
    if not any(ys):
        return None
    slope, intercept = statistics.linear_regression(xs, ys)

    def expected(x: int) -> float:
        return max(0.0, intercept + slope * x)

    total, hour, x = float(used), current, 0
    while hour < reset:
        start = now if x == 0 else hour
        left = max(0.0, expected(0) - hourly.get(current, 0)) if x == 0 else expected(x)
        if left > 0 and total + left >= limit:
            at = start + (hour + HOUR - start) * ((limit - total) / left)
            return Forecast(limit, used, expected(0), at, reset)
        total += left
        hour, x = hour + HOUR, x + 1
    return None
