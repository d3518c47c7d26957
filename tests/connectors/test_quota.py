"""The shared budget: priorities when it runs low, daily caps with a reset time,
Retry-After pausing every caller of an account, and the circuit breaker."""

import asyncio
import time

import pytest

from connectors.errors import ProviderDown, QuotaExhausted, RateLimited
from connectors.quota import CircuitBreaker, Priority, QuotaBudget
from connectors.sandbox.hubspot import HubSpotState
from connectors.spec import RateLimit, Usage


async def test_daily_cap_stops_syncs_first_and_tells_when_it_resets(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "acct", RateLimit(daily=10))
    for _ in range(7):  # syncs may use 70% of the day
        await budget.acquire(Priority.sync)
    with pytest.raises(QuotaExhausted) as info:
        await budget.acquire(Priority.sync)
    assert info.value.resets_at.hour == 0 and info.value.resets_at.timestamp() > time.time()
    assert "resets at 00:00 UTC" in info.value.message
    await budget.acquire(Priority.workflow)
    await budget.acquire(Priority.workflow)  # workflows reach 90%
    with pytest.raises(QuotaExhausted):
        await budget.acquire(Priority.workflow)
    await budget.acquire(Priority.chat)  # chat gets the last of it
    with pytest.raises(QuotaExhausted):
        await budget.acquire(Priority.chat)


async def test_callers_on_one_account_share_one_budget(redis) -> None:
    limit = RateLimit(daily=4)
    sync_a = QuotaBudget(redis, "slack", "same-account", limit)
    sync_b = QuotaBudget(redis, "slack", "same-account", limit)
    other = QuotaBudget(redis, "slack", "other-account", limit)
    await sync_a.acquire(Priority.sync)
    await sync_b.acquire(Priority.sync)
    with pytest.raises(QuotaExhausted):  # 70% of 4 = 2, used by a and b together
        await sync_a.acquire(Priority.sync)
    await other.acquire(Priority.sync)


async def test_window_share_by_priority(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "w", RateLimit(requests=10, per_seconds=3600),
                         max_wait_s=0.05)
    for _ in range(7):  # syncs may take 70% of a window
        await budget.acquire(Priority.sync)
    with pytest.raises(RateLimited):
        await budget.acquire(Priority.sync)
    for _ in range(2):
        await budget.acquire(Priority.workflow)
    with pytest.raises(RateLimited):
        await budget.acquire(Priority.workflow)
    await budget.acquire(Priority.chat)
    with pytest.raises(RateLimited):
        await budget.acquire(Priority.chat)


async def test_window_limit_gives_up_past_the_callers_patience(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "p", RateLimit(requests=2, per_seconds=60),
                         max_wait_s=0.1)
    await budget.acquire(Priority.chat)
    await budget.acquire(Priority.chat)
    with pytest.raises(RateLimited) as info:
        await budget.acquire(Priority.chat)
    assert info.value.retry_after and info.value.retry_after > 1


async def test_retry_after_pauses_every_caller_of_the_account(redis) -> None:
    first = QuotaBudget(redis, "slack", "acct", RateLimit())
    second = QuotaBudget(redis, "slack", "acct", RateLimit(), max_wait_s=0.05)
    await first.pause(5)
    with pytest.raises(RateLimited) as info:
        await second.acquire(Priority.chat)
    assert 4 < (info.value.retry_after or 0) <= 5


async def test_a_pause_holds_for_its_whole_length_and_then_lifts(redis) -> None:
    first = QuotaBudget(redis, "slack", "acct", RateLimit())
    second = QuotaBudget(redis, "slack", "acct", RateLimit(), max_wait_s=0.05)
    await first.pause(1.0)
    await asyncio.sleep(0.3)  # a caller that arrives later in the pause still waits
    with pytest.raises(RateLimited) as info:
        await second.acquire(Priority.chat)
    assert 0.4 < (info.value.retry_after or 0) <= 0.7
    await asyncio.sleep(0.75)
    await second.acquire(Priority.chat)


async def test_low_provider_reported_quota_holds_back_syncs_then_workflows(redis) -> None:
    budget = QuotaBudget(redis, "salesforce", "org", RateLimit())
    await budget.observe(Usage(remaining_fraction=0.2))
    with pytest.raises(QuotaExhausted):
        await budget.acquire(Priority.sync)
    await budget.acquire(Priority.workflow)
    await budget.observe(Usage(remaining_fraction=0.05))
    with pytest.raises(QuotaExhausted):
        await budget.acquire(Priority.workflow)
    await budget.acquire(Priority.chat)


async def test_breaker_opens_after_repeated_failures_and_closes_on_success(redis) -> None:
    breaker = CircuitBreaker(redis, "mailchimp", "k", threshold=3, cooldown_s=0.3)
    for _ in range(3):
        await breaker.check()
        await breaker.failure()
    with pytest.raises(ProviderDown, match="3 times in a row") as info:
        await breaker.check()
    # the health log and the chat name the provider that is down
    assert info.value.provider == "mailchimp" and "mailchimp" in info.value.message
    await asyncio.sleep(0.35)
    await breaker.check()  # half-open: one call may try
    await breaker.success()
    await breaker.failure()
    await breaker.check()  # one failure after a success does not open it


async def test_a_providers_daily_cap_is_not_retried_but_reported_with_its_reset(
        connect, sandbox) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.state_as(HubSpotState).limits = {"ten_secondly": 190, "daily": 2, "search_per_second": 5}
    chat = connect("hubspot", {"access_token": "sandbox"}, priority=Priority.chat)
    await chat.test_connection()
    await chat.test_connection()
    before = len(box.requests)
    with pytest.raises(QuotaExhausted) as info:
        await chat.read_all("contacts")
    assert info.value.resets_at.hour == 0
    assert len(box.requests) == before + 1  # asked once, told "daily", not asked again

    sync = connect("hubspot", {"access_token": "sandbox"}, priority=Priority.sync)
    with pytest.raises(QuotaExhausted) as info:
        await sync.read_all("contacts")
    assert info.value.resets_at.hour == 0
    assert len(box.requests) == before + 1  # the headers said 0 left: a sync does not even ask


async def _script_calls(redis) -> int:
    stats = await redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
               for name in ("evalsha", "eval"))


async def test_callers_of_one_moment_share_a_round_trip_and_never_overdraw(redis) -> None:
    """A batch of runs posting at once: never more let through than the window has room
    for, the rest refused as a lone call would be; one trip to Redis when all fit."""
    budget = QuotaBudget(redis, "slack", "together",
                         RateLimit(requests=10, per_seconds=3600, daily=100), max_wait_s=0.05)
    results = await asyncio.gather(*(budget.acquire(Priority.chat) for _ in range(15)),
                                   return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(admitted) == 10 and len(refused) == 5
    assert all(isinstance(r, RateLimited) for r in refused)
    fill = await budget.log.fill(budget.windows(Priority.chat))
    assert [f.used for f in fill] == [10]  # ten distinct entries in the window
    assert (await budget.remaining())["used_today"] == 10
    # when all fit, all go in one trip
    roomy = QuotaBudget(redis, "slack", "roomy", RateLimit(requests=100, per_seconds=3600))
    before = await _script_calls(redis)
    at = await asyncio.gather(*(roomy.acquire(Priority.chat) for _ in range(15)))
    assert await _script_calls(redis) - before == 1 and len(set(at)) == 1
    fill = await roomy.log.fill(roomy.windows(Priority.chat))
    assert [f.used for f in fill] == [15]


async def test_callers_of_one_moment_each_get_the_error_when_redis_is_gone() -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisDown

    gone = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)  # nothing listens
    try:
        budget = QuotaBudget(gone, "slack", "gone", RateLimit(requests=10, per_seconds=60))
        results = await asyncio.gather(*(budget.acquire(Priority.chat) for _ in range(3)),
                                       return_exceptions=True)
    finally:
        await gone.aclose()
    assert len(results) == 3 and all(isinstance(r, RedisDown) for r in results)
