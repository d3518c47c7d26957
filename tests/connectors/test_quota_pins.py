"""What a caller of the shared budget can rely on besides the priorities: the exact reset
time of a daily cap, the provider's own reset time when its headers give one, what is left
for the health summary, and waiting (not failing) when room comes within its patience."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import QuotaExhausted
from connectors.quota import Priority, QuotaBudget
from connectors.spec import RateLimit, Usage


def _next_utc_midnight() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


async def test_a_daily_cap_resets_at_the_next_utc_midnight_exactly(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "day", RateLimit(daily=1))
    await budget.acquire(Priority.chat)
    with pytest.raises(QuotaExhausted) as info:
        await budget.acquire(Priority.chat)
    assert info.value.resets_at == _next_utc_midnight()
    assert info.value.resets_at.utcoffset() == timedelta(0)


async def test_what_is_left_counts_todays_calls_and_the_providers_own_figure(redis) -> None:
    budget = QuotaBudget(redis, "salesforce", "org", RateLimit(daily=100))
    assert await budget.remaining() == {"used_today": 0, "daily_limit": 100,
                                        "provider_remaining_fraction": None}
    for _ in range(3):
        await budget.acquire(Priority.sync)
    await budget.observe(Usage(remaining_fraction=0.64))
    assert await budget.remaining() == {"used_today": 3, "daily_limit": 100,
                                        "provider_remaining_fraction": 0.64}


async def test_a_refused_call_is_not_counted_as_used(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "refused", RateLimit(daily=10))
    for _ in range(7):
        await budget.acquire(Priority.sync)
    for _ in range(3):
        with pytest.raises(QuotaExhausted):
            await budget.acquire(Priority.sync)
    assert (await budget.remaining())["used_today"] == 7
    await budget.acquire(Priority.workflow)  # the refusals did not eat the workflows' share
    await budget.acquire(Priority.workflow)


async def test_a_low_provider_figure_holds_syncs_until_the_providers_reset(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "reported", RateLimit())
    resets = datetime(2031, 1, 2, 0, 0, tzinfo=UTC)
    await budget.observe(Usage(remaining_fraction=0.1, resets_at=resets))
    with pytest.raises(QuotaExhausted) as info:
        await budget.acquire(Priority.sync)
    assert info.value.resets_at == resets
    await budget.acquire(Priority.workflow)  # 10% is the workflows' floor: not below it


async def test_without_a_reset_time_a_low_figure_is_looked_at_again_soon(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "soon", RateLimit())
    await budget.observe(Usage(remaining_fraction=0.05))
    with pytest.raises(QuotaExhausted) as info:
        await budget.acquire(Priority.workflow)
    ahead = info.value.resets_at - datetime.now(UTC)
    assert timedelta(minutes=10) < ahead <= timedelta(minutes=15)


async def test_a_response_without_usage_headers_changes_nothing(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "quiet", RateLimit())
    await budget.observe(Usage(remaining_fraction=0.9))
    await budget.observe(Usage())
    assert (await budget.remaining())["provider_remaining_fraction"] == 0.9
    await budget.acquire(Priority.sync)


async def test_a_short_pause_is_waited_out_within_the_callers_patience(redis) -> None:
    budget = QuotaBudget(redis, "slack", "pause", RateLimit(), max_wait_s=5)
    await budget.pause(0.3)
    started = time.monotonic()
    await budget.acquire(Priority.sync)
    assert time.monotonic() - started >= 0.25  # it waited for the pause, then went


async def test_a_full_window_is_waited_out_within_the_callers_patience(redis) -> None:
    budget = QuotaBudget(redis, "zapier", "window", RateLimit(requests=1, per_seconds=0.5),
                         max_wait_s=5)
    await budget.acquire(Priority.chat)
    await budget.acquire(Priority.chat)  # the next window has room: wait, do not fail
