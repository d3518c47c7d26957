"""How long a rate-limited call waits, and the breaker's half-open state.

A 429 with Retry-After waits what it says; one without waits until our oldest call
leaves the provider's rolling window, not the whole interval. Provider answers come
from an in-process fake API (httpx.MockTransport) so the exact headers are chosen.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest
from tenacity import RetryCallState

from connectors.errors import ProviderDown, RateLimited
from connectors.http import Attempts, ProviderClient
from connectors.quota import CircuitBreaker, Priority, QuotaBudget
from connectors.registry import connector_spec
from connectors.request import Request
from connectors.spec import RateLimit

HUBSPOT_429 = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
               "errorType": "RATE_LIMIT", "category": "RATE_LIMITS",
               "policyName": "TEN_SECONDLY_ROLLING"}


class Seen:
    def __init__(self) -> None:
        self.errors: list[Any] = []

    async def call(self, *, status: int | None, elapsed_ms: float, error: Any,
                   **_: Any) -> None:
        if error is not None:
            self.errors.append(error)


def _client(redis: Any, handler: Any, *, limit: RateLimit, account: str,
            attempts: Attempts | None = None) -> tuple[ProviderClient, Seen]:
    spec = replace(connector_spec("hubspot"), rate_limit=limit)
    seen = Seen()
    client = ProviderClient(
        spec, "https://api.hubapi.com", httpx.Auth(),
        budget=QuotaBudget(redis, "hubspot", account, limit, max_wait_s=5),
        breaker=CircuitBreaker(redis, "hubspot", account), priority=Priority.chat,
        observer=seen, http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        attempts=attempts or Attempts(max_attempts=3, base_wait_s=0.001, max_wait_s=5))
    return client, seen


async def test_a_429_without_retry_after_waits_until_our_oldest_call_leaves_the_window(
        redis) -> None:
    answers = iter([200, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 429:  # HubSpot often sends no Retry-After, only the interval
            return httpx.Response(429, json=HUBSPOT_429, headers={
                "X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
                "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"})
        return httpx.Response(200, json={"results": []})

    # a 1 s rolling window, as HubSpot's 10 s one shrunk for a test
    client, seen = _client(redis, handler, limit=RateLimit(requests=100, per_seconds=1),
                           account="no-retry-after")
    await client.send(Request("GET", "/crm/v3/objects/contacts"))
    await asyncio.sleep(0.4)
    await client.send(Request("GET", "/crm/v3/objects/contacts"))  # 429, then retried
    [limited] = seen.errors
    assert isinstance(limited, RateLimited)
    # the first call, 0.4 s old, leaves the window in about 0.6 s: not the whole second
    assert limited.retry_after is not None and 0.3 < limited.retry_after < 0.8
    await client.aclose()


async def test_a_429_with_retry_after_waits_what_the_provider_says(redis) -> None:
    answers = iter([429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(answers) == 429:
            return httpx.Response(429, json=HUBSPOT_429, headers={"Retry-After": "0.2"})
        return httpx.Response(200, json={})

    client, seen = _client(redis, handler, limit=RateLimit(requests=100, per_seconds=10),
                           account="retry-after")
    await client.send(Request("GET", "/crm/v3/objects/contacts"))
    assert seen.errors[0].retry_after == pytest.approx(0.2)
    await client.aclose()


def _failed_state(error: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


@pytest.mark.parametrize("retry_after", [0.0, 3.5, 12.0])
async def test_the_retry_wait_is_the_retry_after(redis, retry_after: float) -> None:
    """Not the exponential backoff (which would be milliseconds here)."""
    client, _ = _client(redis, lambda r: httpx.Response(200), account="wait",
                        limit=RateLimit(),
                        attempts=Attempts(base_wait_s=0.001, max_wait_s=10))
    wait = client._wait(_failed_state(RateLimited("slow down", retry_after=retry_after)))
    assert wait == min(retry_after, 10)
    backoff = client._wait(_failed_state(RateLimited("slow down", retry_after=None)))
    assert backoff < 0.01
    await client.aclose()


async def test_one_failure_in_the_half_open_state_opens_the_breaker_again(redis) -> None:
    breaker = CircuitBreaker(redis, "mailchimp", "half-open", threshold=3, cooldown_s=0.2)
    for _ in range(3):
        await breaker.failure()
    with pytest.raises(ProviderDown):
        await breaker.check()
    await asyncio.sleep(0.25)
    await breaker.check()  # half-open: one call may try
    await breaker.failure()  # and it fails: no second run of `threshold` tries
    with pytest.raises(ProviderDown, match="3 times in a row"):
        await breaker.check()
    await asyncio.sleep(0.25)
    await breaker.check()
    await breaker.success()  # a success closes it: failures count from zero again
    for _ in range(2):
        await breaker.failure()
    await breaker.check()
