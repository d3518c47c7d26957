"""Rolling-window logs in Redis: a call is admitted only if every window it counts in has room.

Each window is a sorted set of admitted calls scored by the Redis server's clock in
microseconds (one clock for every process on every machine). One Lua script prunes,
checks and records all the windows of a call (the account's general limit, its
endpoint's limit) and the daily counter atomically, so no two processes can both take
the last slot, and a call refused by one window takes nothing from the others. A
refusal says how long until enough of the oldest calls have left the window.

Why not the ``limits`` library's moving window: its key embeds the limit's amount, so
the 70/90/100% priority ceilings would be three separate budgets rather than three
shares of one; it trims the log to the limit it was asked about, so a sync's check
(at 70) would erase the calls a chat check (at 100) must count; it hits one limit per
call, so a call refused by its endpoint limit would already have spent general budget;
its windows are whole seconds, its async Redis client is coredis unless configured,
and it wants ``async+redis+unix://`` where our settings say ``unix://``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[2])
local wait = 0
for i = 1, n do
  local window = tonumber(ARGV[1 + 2 * i])
  local allowed = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local used = redis.call('ZCARD', KEYS[i])
  if used >= allowed then
    local nth = redis.call('ZRANGE', KEYS[i], used - allowed, used - allowed, 'WITHSCORES')
    local free_in = tonumber(nth[2]) + window - now
    if free_in > wait then wait = free_in end
  end
end
local daily = tonumber(ARGV[3 + 2 * n])
if daily >= 0 then
  local used = tonumber(redis.call('GET', KEYS[n + 1]) or '0')
  if used >= daily then return {-1, used} end
end
if wait > 0 then return {wait, now} end
local member = now .. ':' .. ARGV[1]
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[1 + 2 * i]) / 1000) + 1000)
end
if daily >= 0 then
  redis.call('INCR', KEYS[n + 1])
  redis.call('EXPIRE', KEYS[n + 1], tonumber(ARGV[4 + 2 * n]))
end
return {0, now}
"""

_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local window = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  out[2 * i - 1] = redis.call('ZCARD', KEYS[i])
  out[2 * i] = oldest[2] and (tonumber(oldest[2]) + window - now) or 0
end
return out
"""

US = 1_000_000


@dataclass(frozen=True)
class Window:
    """One rolling window: at most ``allowed`` calls in any ``seconds``."""

    key: str
    allowed: int
    seconds: float

    @property
    def micros(self) -> int:
        return max(1, round(self.seconds * US))


@dataclass(frozen=True)
class Outcome:
    admitted: bool
    at_us: int  # Redis's clock at the decision, epoch microseconds (the call's log score)
    wait_s: float = 0.0  # when refused by a window: until the slot frees
    daily_used: int | None = None  # when refused by the daily cap: calls counted today


@dataclass(frozen=True)
class Fill:
    """What a window holds now: its calls and when the oldest leaves it."""

    window: Window
    used: int
    oldest_leaves_in_s: float


class RollingLog:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._peek = redis.register_script(_PEEK)

    async def take(self, windows: list[Window], daily: tuple[str, int, int] | None = None
                   ) -> Outcome:
        """Record one call in every window, or in none. ``daily`` is (key, allowed, ttl_s)."""
        keys = [w.key for w in windows]
        args: list[str | int] = [secrets.token_hex(6), len(windows)]
        for w in windows:
            args += [w.micros, w.allowed]
        if daily is None:
            args += [-1, 0]
        else:
            keys.append(daily[0])
            args += [daily[1], daily[2]]
        code, value = await self._acquire(keys=keys, args=args)
        code, value = int(code), int(value)
        if code == -1:
            return Outcome(admitted=False, at_us=0, daily_used=value)
        return Outcome(admitted=code == 0, at_us=value, wait_s=code / US)

    async def fill(self, windows: list[Window]) -> list[Fill]:
        if not windows:
            return []
        raw = await self._peek(keys=[w.key for w in windows], args=[w.micros for w in windows])
        return [Fill(w, int(raw[2 * i]), int(raw[2 * i + 1]) / US)
                for i, w in enumerate(windows)]
