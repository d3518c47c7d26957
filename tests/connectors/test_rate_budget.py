"""The rolling budget never lets more calls through than a provider allows in any window.

Bursts run from many tasks over two budgets on two Redis connections; every admitted
call's stamp (the Redis clock it was logged under) is kept and the highest count in
any rolling window, measured from the stamps, must be at or under the allowance.
Windows are shrunk (tests/connectors/burst.py) so that a burst spans several.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from connectors.errors import QuotaExhausted, RateLimited
from connectors.quota import CEILING, Priority, QuotaBudget
from connectors.registry import connector_names, connector_spec
from connectors.request import Request
from connectors.spec import EndpointLimit, RateLimit
from tests.connectors.burst import burst, max_in_window
from tests.connectors.conftest import Recorder

SEARCH = Request("POST", "/crm/v3/objects/contacts/search", json={})
LIST = Request("GET", "/crm/v3/objects/contacts")


def test_max_in_window_counts_half_open_stretches() -> None:
    assert max_in_window([0, 1, 2, 1_000_000, 1_000_001], 1.0) == 3  # [1, 1_000_001) holds 3
    assert max_in_window([0, 999_999, 1_000_000], 1.0) == 2
    assert max_in_window([], 1.0) == 0


async def test_no_window_edge_lets_twice_the_allowance_through(redis_url: str) -> None:
    """The fixed-window defect: calls at the end of one window and the start of the next."""
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    limit = RateLimit(requests=10, per_seconds=0.4)
    budgets = [QuotaBudget(r, "hubspot", "edge", limit, max_wait_s=30) for r in (a, b)]
    stamps: list[int] = []

    async def caller(n: int) -> None:
        for _ in range(8):
            stamps.append(await budgets[n % 2].acquire(Priority.chat))

    await asyncio.gather(*(caller(n) for n in range(8)))
    await a.aclose()
    await b.aclose()
    assert len(stamps) == 64
    assert max_in_window(stamps, 0.4) == 10


@pytest.mark.parametrize("provider", connector_names())
async def test_a_burst_stays_within_every_documented_window(redis_url: str,
                                                            provider: str) -> None:
    spec = connector_spec(provider)
    figures = await burst(redis_url, spec, calls=300)
    declared = (1 if spec.rate_limit.requests else 0) + len(spec.rate_limit.endpoints)
    assert bool(figures) == bool(declared)
    for figure in figures:
        assert figure.max_in_window <= figure.allowed, figure


@pytest.mark.parametrize("provider", ["hubspot", "slack", "zapier"])
async def test_bulk_syncs_keep_to_their_share_of_every_window(redis_url: str,
                                                              provider: str) -> None:
    spec = connector_spec(provider)
    figures = await burst(redis_url, spec, calls=200, priorities=(Priority.sync,))
    declared = {e.name: e.requests for e in spec.rate_limit.endpoints}
    declared["general"] = spec.rate_limit.requests or 0
    for figure in figures:
        share = max(1, int(declared[figure.bucket.split(":")[0]] * CEILING[Priority.sync]))
        assert figure.max_in_window <= figure.allowed == share, figure


async def test_hubspot_search_draws_on_its_own_limit_and_the_general_one(redis) -> None:
    limit = connector_spec("hubspot").rate_limit
    assert limit.endpoint(SEARCH) is not None and limit.endpoint(LIST) is None
    budget = QuotaBudget(redis, "hubspot", "s", limit, max_wait_s=0.05)
    for _ in range(5):  # HubSpot search: 5 a second per account
        await budget.acquire(Priority.chat, SEARCH)
    with pytest.raises(RateLimited) as info:
        await budget.acquire(Priority.chat, SEARCH)
    assert 0 < (info.value.retry_after or 0) <= 1.05  # a window a hair longer than 1 s
    for _ in range(95):  # the searches counted in the general 100 per 10 s as well
        await budget.acquire(Priority.chat, LIST)
    with pytest.raises(RateLimited):
        await budget.acquire(Priority.chat, LIST)


async def test_slack_methods_have_budgets_of_their_own(redis) -> None:
    budget = QuotaBudget(redis, "slack", "t", connector_spec("slack").rate_limit,
                         max_wait_s=0.05)
    for _ in range(20):  # Tier 2
        await budget.acquire(Priority.chat, Request("GET", "/users.list"))
    with pytest.raises(RateLimited):
        await budget.acquire(Priority.chat, Request("GET", "/users.list"))
    await budget.acquire(Priority.chat, Request("GET", "/auth.test"))
    await budget.acquire(Priority.chat, Request("GET", "/conversations.list"))
    await budget.acquire(Priority.chat, Request("GET", "/conversations.history?channel=C1"))
    post = Request("POST", "/chat.postMessage", json={"channel": "C1", "text": "hi"})
    await budget.acquire(Priority.chat, post)
    with pytest.raises(RateLimited) as info:  # about one a second per channel
        await budget.acquire(Priority.chat, post)
    assert 0 < (info.value.retry_after or 0) <= 1.05  # a window a hair longer than 1 s
    await budget.acquire(Priority.chat, Request("POST", "/chat.postMessage",
                                                json={"channel": "C2", "text": "hi"}))


async def test_a_call_refused_by_its_endpoint_takes_nothing_from_the_general_window(
        redis) -> None:
    limit = RateLimit(requests=3, per_seconds=60,
                      endpoints=(EndpointLimit("search", "/search", 1, 60),))
    budget = QuotaBudget(redis, "hubspot", "atomic", limit, max_wait_s=0.01)
    await budget.acquire(Priority.chat, Request("POST", "/search"))
    for _ in range(5):
        with pytest.raises(RateLimited):
            await budget.acquire(Priority.chat, Request("POST", "/search"))
    await budget.acquire(Priority.chat, Request("GET", "/list"))
    await budget.acquire(Priority.chat, Request("GET", "/list"))


async def test_a_refused_call_is_told_when_the_oldest_call_leaves_the_window(redis) -> None:
    budget = QuotaBudget(redis, "hubspot", "w", RateLimit(requests=2, per_seconds=60),
                         max_wait_s=0.05)
    await budget.acquire(Priority.chat)
    await asyncio.sleep(0.2)
    await budget.acquire(Priority.chat)
    with pytest.raises(RateLimited) as info:
        await budget.acquire(Priority.chat)
    # the first call leaves first, 0.2 s before the second would (at 60 s and a hair)
    assert 59 < (info.value.retry_after or 0) < 60
    assert await budget.retry_in() == pytest.approx(info.value.retry_after, abs=0.5)


async def test_concurrent_daily_caps_admit_exactly_the_allowance(redis_url: str) -> None:
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    budgets = [QuotaBudget(r, "google_ads", "day", RateLimit(daily=50)) for r in (a, b)]
    results = await asyncio.gather(*(budgets[n % 2].acquire(Priority.chat) for n in range(300)),
                                   return_exceptions=True)
    await a.aclose()
    await b.aclose()
    assert sum(not isinstance(r, BaseException) for r in results) == 50
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, QuotaExhausted) and r.resets_at.timestamp() > time.time()
               for r in refused)
    assert (await budgets[0].remaining())["used_today"] == 50


async def test_hubspot_search_deltas_keep_to_the_search_limit(connect, sandbox) -> None:
    """Search pages used to go out as fast as the general 100 per 10 s allowed, and the
    simulator (5 searches a second, as HubSpot) answered 429 SECONDLY."""
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": 1_600}
    box.reset()
    recorder = Recorder()
    sync = connect("hubspot", {"access_token": "sandbox"}, observer=recorder)
    records = await sync.read_all("contacts", since="2000-01-01T00:00:00Z")
    assert len(records) == 1_600  # 8 pages of 200
    assert [e for e in recorder.errors if isinstance(e, RateLimited)] == []


_OTHER_PROCESS = """
import asyncio, json, sys
from redis.asyncio import Redis
from connectors.quota import Priority, QuotaBudget
from connectors.spec import RateLimit

async def main():
    redis = Redis.from_url(sys.argv[1])
    budget = QuotaBudget(redis, "zapier", "procs", RateLimit(requests=10, per_seconds=0.2),
                         max_wait_s=60)
    await redis.ping()
    print("ready", flush=True)
    sys.stdin.readline()
    stamps = await asyncio.gather(*(budget.acquire(Priority.chat) for _ in range(80)))
    print(json.dumps(stamps), flush=True)
    await redis.aclose()

asyncio.run(main())
"""


async def test_two_processes_share_one_rolling_window(redis_url: str) -> None:
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _OTHER_PROCESS, redis_url, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert other.stdin is not None and other.stdout is not None
    assert (await other.stdout.readline()).strip() == b"ready"
    redis = Redis.from_url(redis_url)
    budget = QuotaBudget(redis, "zapier", "procs", RateLimit(requests=10, per_seconds=0.2),
                         max_wait_s=60)
    other.stdin.write(b"go\n")
    await other.stdin.drain()
    ours = await asyncio.gather(*(budget.acquire(Priority.chat) for _ in range(80)))
    theirs = json.loads(await other.stdout.readline())
    await other.wait()
    await redis.aclose()
    assert len(theirs) == 80
    assert max_in_window(ours, 0.2) <= 10 and max_in_window(theirs, 0.2) <= 10
    assert max_in_window(ours + theirs, 0.2) == 10
    assert min(theirs) < max(ours) and min(ours) < max(theirs)  # the bursts overlapped


async def test_after_a_429_the_fullest_window_decides_the_wait(redis) -> None:
    limit = connector_spec("hubspot").rate_limit
    budget = QuotaBudget(redis, "hubspot", "fullest", limit)
    assert await budget.retry_in(SEARCH) is None  # no call of ours in any window: no idea
    for _ in range(4):
        await budget.acquire(Priority.chat, SEARCH)
    # 4 of 5 searches in the last second against 4 of 100 calls in 10 s: search refused
    assert 0 < (await budget.retry_in(SEARCH) or 0) <= 1.05
    assert 9 < (await budget.retry_in(LIST) or 0) <= 10.1  # a list counts only in the 10 s
