"""The quota forecast on synthetic trends: the hour the daily limit runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.insights.forecast import forecast

HOUR = timedelta(hours=1)
NOW = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
CURRENT = NOW.replace(minute=0)


def trend(calls: list[int], so_far: int) -> dict[datetime, int]:
    """``calls`` for the hours before this one (the last is 09:00), ``so_far`` this hour."""
    hours = {CURRENT - HOUR * (len(calls) - n): c for n, c in enumerate(calls)}
    return {**hours, CURRENT: so_far}


def test_a_flat_rate_runs_out_in_the_hour_the_sum_reaches_the_limit() -> None:
    usage = trend([500] * 10, 200)  # 5,200 used; 300 more this hour, then 500 an hour
    found = forecast(usage, 7_800, NOW)
    assert found is not None
    assert found.used == 5_200 and round(found.rate) == 500
    # 5,500 at 11:00, 6,000 at 12:00 ... 7,500 at 15:00: the last 300 by 15:36
    assert found.runs_out_at == datetime(2026, 11, 30, 15, 36, tzinfo=UTC)


def test_a_rising_trend_runs_out_sooner_than_its_average_says() -> None:
    usage = trend([0, 0, 0, 0, 100, 200, 300, 400, 500, 600], 350)  # +100 an hour
    found = forecast(usage, 6_000, NOW)
    assert found is not None
    # the line expects 700 this hour (350 to come), then 800, 900, 1000 ...:
    # 2,450 used, 2,800 at 11:00, 3,600 at 12:00, 4,500 at 13:00, 5,500 at 14:00,
    # and the last 500 of the 1,100 the 14:00 hour expects
    assert found.runs_out_at.replace(minute=0, second=0, microsecond=0) == datetime(
        2026, 11, 30, 14, tzinfo=UTC)
    assert found.rate == 700
    # the day's average rate (about 233 an hour) would say the quota lasts until midnight
    average = found.used / 10.5
    assert found.used + average * (24 - 10.5) < 6_000


def test_no_forecast_when_the_quota_lasts_until_the_reset() -> None:
    assert forecast(trend([100] * 10, 50), 10_000, NOW) is None


def test_a_spent_quota_runs_out_now() -> None:
    found = forecast(trend([1_000] * 10, 10), 10_000, NOW)
    assert found is not None and found.runs_out_at == NOW
    assert found.resets_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_no_calls_no_trend() -> None:
    assert forecast({}, 100, NOW) is None
