"""One quota budget and one circuit breaker per provider account, shared through Redis.

Every caller of one provider account (syncs, workflows, the agent's calls, in
any worker process) draws from the same budget, so together they honour the
provider's limits. Windows roll (connectors/rolling.py): no stretch of
``per_seconds`` ever holds more than the allowance, not even across a window
edge. A call counts in the account's general window and, where the provider
documents one, in its endpoint's window (HubSpot search, each Slack method).
When the budget runs low, callers are served by priority: chat first, then
workflows, then bulk syncs. A bulk sync stops drawing at 70% of a window or
of the day, workflows at 90%, chat may use it all. A caller
that meets a daily cap gets ``QuotaExhausted`` with the reset time so it can
checkpoint and resume then, instead of failing.

A provider's own usage headers (``Usage``) are folded in: when the provider
says less than 30% is left, syncs wait; less than 10%, workflows wait too.
A 429's Retry-After pauses every caller of that account, not just the one
that got it.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from connectors.errors import ProviderDown, QuotaExhausted, RateLimited
from connectors.request import Request
from connectors.rolling import Gates, Outcome, RollingLog, Window
from connectors.spec import RateLimit, Usage


class Priority(enum.IntEnum):
    chat = 0
    workflow = 1
    sync = 2


CEILING = {Priority.chat: 1.0, Priority.workflow: 0.9, Priority.sync: 0.7}
# below this share of the provider-reported quota a priority waits; chat never does
FLOOR = {Priority.chat: -1.0, Priority.workflow: 0.1, Priority.sync: 0.3}


def _next_midnight(now: float) -> datetime:
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def _padded(seconds: float) -> float:
    """A window a little longer than documented: calls reach the provider with jitter, and
    one sent exactly a window after another could land just inside the provider's."""
    return seconds + min(0.1, seconds * 0.05)


class QuotaBudget:
    def __init__(self, redis: Redis, provider: str, account: str, limit: RateLimit,
                 *, max_wait_s: float = 30.0) -> None:
        self.redis = redis
        self.provider = provider
        self.key = f"connectus:quota:{provider}:{account}"
        self.limit = limit
        self.max_wait_s = max_wait_s
        self.log = RollingLog(redis)

    def windows(self, priority: Priority, request: Request | None = None) -> list[Window]:
        """The rolling windows a call counts in, each with this priority's share."""
        share = CEILING[priority]
        found = []
        if self.limit.requests:
            found.append(Window(f"{self.key}:roll", max(1, int(self.limit.requests * share)),
                                _padded(self.limit.per_seconds)))
        if request is not None and (endpoint := self.limit.endpoint(request)) is not None:
            found.append(Window(f"{self.key}:roll:{endpoint.bucket(request)}",
                                max(1, int(endpoint.requests * share)),
                                _padded(endpoint.per_seconds)))
        return found

    async def acquire(self, priority: Priority, request: Request | None = None) -> int:
        """Wait for room in every window of this call (up to ``max_wait_s``) and count it;
        returns the moment it was counted, as logged (Redis's clock, epoch microseconds)."""
        return (await self.admit(priority, request)).at_us

    async def admit(self, priority: Priority, request: Request | None = None,
                    breaker: CircuitBreaker | None = None) -> Outcome:
        """``acquire``, with the breaker's check in the same round trip to Redis; the
        outcome also carries what ``observe`` and ``CircuitBreaker.success`` need to
        skip writes that would change nothing."""
        deadline = time.monotonic() + self.max_wait_s
        windows = self.windows(priority, request)
        daily = self._daily(priority)
        # without a breaker its two keys name a key nobody writes, so they never hold a call
        gates = Gates(open_until=breaker.key + ":open_until" if breaker else f"{self.key}:-",
                      failures=breaker.key + ":failures" if breaker else f"{self.key}:-",
                      paused_until=f"{self.key}:paused_until", reported=f"{self.key}:reported",
                      reported_reset=f"{self.key}:reported_reset", floor=FLOOR[priority])
        while True:
            outcome = await self.log.take(windows, daily, gates, time.time())
            if outcome.admitted:
                return outcome
            if outcome.held_by == "breaker":
                assert breaker is not None
                raise breaker.opened(float(outcome.stamp))
            if outcome.held_by == "reported":
                raise self._reported_low(priority, float(outcome.stamp), outcome.reported_reset)
            if outcome.daily_used is not None:
                raise self._daily_exhausted(priority, outcome.daily_used)
            if outcome.held_by == "pause":
                wait = float(outcome.stamp) - time.time()
                if time.monotonic() + wait > deadline:
                    raise RateLimited(f"{self.provider} asked us to wait {wait:.0f}s before "
                                      "calling again", retry_after=wait, provider=self.provider)
                await asyncio.sleep(max(0.0, wait))
                continue
            wait = outcome.wait_s
            if time.monotonic() + wait > deadline:
                raise RateLimited(f"{self.provider} rate limit reached for {priority.name} calls",
                                  retry_after=wait, provider=self.provider)
            # a hair of jitter so waiters woken together do not all race for one slot
            await asyncio.sleep(wait + random.random() * 0.002)

    async def retry_in(self, request: Request | None = None) -> float | None:
        """After a 429 that named no wait: when the oldest of our calls leaves the window
        closest to full, which is the one the provider most likely refused. None when we
        have made no call in any window (someone else spent the provider's limit)."""
        fills = [f for f in await self.log.fill(self.windows(Priority.chat, request)) if f.used]
        if not fills:
            return None
        fullest = max(fills, key=lambda f: (f.used / f.window.allowed, f.oldest_leaves_in_s))
        return max(0.001, fullest.oldest_leaves_in_s)

    async def pause(self, seconds: float) -> None:
        """Everyone on this account waits: the provider told one of us to slow down."""
        until = time.time() + seconds
        await self.redis.set(f"{self.key}:paused_until", str(until), px=int(seconds * 1000) + 1)

    async def observe(self, usage: Usage, seen: Outcome | None = None) -> None:
        """Store what the provider says is left. ``seen`` is what this call's admission
        read; the fraction is kept to four places, so a write that would store what is
        already there (most calls) is skipped."""
        if usage.remaining_fraction is None:
            return
        left = str(round(usage.remaining_fraction, 4))
        reset = str(usage.resets_at.timestamp()) if usage.resets_at is not None else None
        if seen is not None and seen.reported == left and reset in (None, seen.reported_reset):
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{self.key}:reported", left, ex=3600)
            if reset is not None:
                pipe.set(f"{self.key}:reported_reset", reset, ex=3600)
            await pipe.execute()

    async def remaining(self) -> dict[str, float | int | None]:
        """What is left, for health summaries and the agent."""
        used_today = int(await self.redis.get(self._daily_key(time.time())) or 0)
        reported = await self.redis.get(f"{self.key}:reported")
        return {"used_today": used_today, "daily_limit": self.limit.daily,
                "provider_remaining_fraction": float(reported) if reported else None}

    def _reported_low(self, priority: Priority, left: float, reset_raw: str) -> QuotaExhausted:
        resets = (datetime.fromtimestamp(float(reset_raw), UTC) if reset_raw
                  else datetime.now(UTC) + timedelta(minutes=15))
        return QuotaExhausted(
            f"{self.provider} reports {left:.0%} of its quota left; "
            f"{priority.name} calls wait so chat and workflows keep working",
            resets_at=resets, provider=self.provider)

    def _daily_key(self, now: float) -> str:
        return f"{self.key}:d:{datetime.fromtimestamp(now, UTC).strftime('%Y%m%d')}"

    def _daily(self, priority: Priority) -> tuple[str, int, int] | None:
        if not self.limit.daily:
            return None
        return self._daily_key(time.time()), int(self.limit.daily * CEILING[priority]), 26 * 3600

    def _daily_exhausted(self, priority: Priority, used: int) -> QuotaExhausted:
        resets = _next_midnight(time.time())
        return QuotaExhausted(
            f"{self.provider} daily quota for {priority.name} calls is used up "
            f"({used} of {self.limit.daily}); it resets at {resets:%H:%M} UTC",
            resets_at=resets, provider=self.provider)


class CircuitBreaker:
    """After ``threshold`` failures in a row the provider is left alone for ``cooldown_s``;
    then one call is let through, and one more failure opens it again."""

    def __init__(self, redis: Redis, provider: str, account: str, *, threshold: int = 5,
                 cooldown_s: float = 30.0) -> None:
        self.redis = redis
        self.provider = provider
        self.key = f"connectus:breaker:{provider}:{account}"
        self.threshold = threshold
        self.cooldown_s = cooldown_s

    async def check(self) -> None:
        """On its own; a provider call checks it inside ``QuotaBudget.admit``."""
        raw = await self.redis.get(f"{self.key}:open_until")
        if raw and float(raw) > time.time():
            raise self.opened(float(raw))

    def opened(self, until: float) -> ProviderDown:
        return ProviderDown(
            f"{self.provider} failed {self.threshold} times in a row; not calling it for "
            f"another {max(0.0, until - time.time()):.0f}s", provider=self.provider)

    async def success(self) -> None:
        await self.redis.delete(f"{self.key}:failures", f"{self.key}:open_until")

    async def failure(self) -> None:
        failures = await self.redis.incr(f"{self.key}:failures")
        await self.redis.expire(f"{self.key}:failures", 600)
        if failures >= self.threshold:
            until = time.time() + self.cooldown_s
            await self.redis.set(f"{self.key}:open_until", str(until),
                                 px=int(self.cooldown_s * 1000) + 1)
