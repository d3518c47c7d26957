"""Rolling-window logs in Redis: a call is admitted only if every window it counts in has room.

Each window is a sorted set of admitted calls scored by the Redis server's clock in
microseconds (one clock for every process on every machine). One Lua script prunes,
checks and records all the windows of a call (the account's general limit, its
endpoint's limit) and the daily counter atomically, so no two processes can both take
the last slot, and a call refused by one window takes nothing from the others. A
refusal says how long until enough of the oldest calls have left the window.

The takes of one account's windows that come in the same turn of the event loop (a
batch of workflow runs each posting to Slack) share one call of the script when all fit
(``RollingLog.take``).

The same script first reads the account's gates (``Gates``: the circuit breaker, a
shared pause, the provider-reported quota), so a call costs one round trip to Redis
rather than one per check; on a read that is most of the framework's overhead.

Why not the ``limits`` library's moving window: its key embeds the limit's amount, so
the 70/90/100% priority ceilings would be three separate budgets rather than three
shares of one; it trims the log to the limit it was asked about, so a sync's check
(at 70) would erase the calls a chat check (at 100) must count; it hits one limit per
call, so a call refused by its endpoint limit would already have spent general budget;
its windows are whole seconds, its async Redis client is coredis unless configured,
and it wants ``async+redis+unix://`` where our settings say ``unix://``.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import weakref
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local g = tonumber(ARGV[3])
local dirty, reported, reset = 0, '', ''
if g > 0 then
  -- the stamps were written with the callers' clock (epoch s), so they are read with it
  local clock, floor = tonumber(ARGV[4]), tonumber(ARGV[5])
  local open_until = redis.call('GET', KEYS[1])
  if open_until and tonumber(open_until) > clock then return {-3, open_until} end
  if open_until or redis.call('EXISTS', KEYS[2]) == 1 then dirty = 1 end
  local paused = redis.call('GET', KEYS[3])
  if paused and tonumber(paused) > clock then return {-2, paused} end
  reported = redis.call('GET', KEYS[4]) or ''
  reset = redis.call('GET', KEYS[5]) or ''
  if reported ~= '' and floor >= 0 and tonumber(reported) < floor then
    return {-4, reported, reset}
  end
end
local a = 5
local n = tonumber(ARGV[2])
local room = tonumber(ARGV[a + 2 * n + 3])
local wait = 0
for i = 1, n do
  local key = KEYS[g + i]
  local window = tonumber(ARGV[a + 2 * i - 1])
  local allowed = tonumber(ARGV[a + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if allowed - used < room then room = allowed - used end
  if used >= allowed then
    local nth = redis.call('ZRANGE', key, used - allowed, used - allowed, 'WITHSCORES')
    local free_in = tonumber(nth[2]) + window - now
    if free_in > wait then wait = free_in end
  end
end
local daily = tonumber(ARGV[a + 2 * n + 1])
local day = KEYS[g + n + 1]
if daily >= 0 then
  local used = tonumber(redis.call('GET', day) or '0')
  if used >= daily then return {-1, used} end
  if daily - used < room then room = daily - used end
end
if wait > 0 then return {wait, now} end
-- not all of them fit: one is admitted, as a lone caller would be, and the others take
-- again; handing a group every free slot would starve other processes' callers
if room < tonumber(ARGV[a + 2 * n + 3]) then room = 1 end
local members = {}
for j = 1, room do
  members[2 * j - 1] = now
  members[2 * j] = now .. ':' .. ARGV[1] .. ':' .. j
end
for i = 1, n do
  redis.call('ZADD', KEYS[g + i], unpack(members))
  redis.call('PEXPIRE', KEYS[g + i], math.ceil(tonumber(ARGV[a + 2 * i - 1]) / 1000) + 1000)
end
if daily >= 0 then
  redis.call('INCRBY', day, room)
  redis.call('EXPIRE', day, tonumber(ARGV[a + 2 * n + 2]))
end
return {0, now, dirty, reported, reset, room}
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
class Gates:
    """Keys that can hold a call back before any window is looked at.

    ``open_until`` and ``paused_until`` hold an epoch-seconds stamp (written with the
    callers' clock, so compared with it); ``failures`` only tells whether the breaker
    has anything for a success to clear; below ``floor`` of the provider-reported
    quota the call waits (a negative floor: never).
    """

    open_until: str
    failures: str
    paused_until: str
    reported: str
    reported_reset: str
    floor: float

    def keys(self) -> list[str]:
        return [self.open_until, self.failures, self.paused_until, self.reported,
                self.reported_reset]


@dataclass(frozen=True)
class Outcome:
    admitted: bool
    at_us: int  # Redis's clock at the decision, epoch microseconds (the call's log score)
    wait_s: float = 0.0  # when refused by a window: until the slot frees
    daily_used: int | None = None  # when refused by the daily cap: calls counted today
    held_by: str | None = None  # the gate that refused it: "breaker", "pause" or "reported"
    stamp: str = ""  # that gate's value: its open/pause stamp, or the reported fraction
    reported: str = ""  # the provider-reported fraction left and its reset, as stored
    reported_reset: str = ""
    breaker_dirty: bool = False  # the breaker holds failures a success must clear


_HELD = {-2: "pause", -3: "breaker", -4: "reported"}


@dataclass(frozen=True)
class Fill:
    """What a window holds now: its calls and when the oldest leaves it."""

    window: Window
    used: int
    oldest_leaves_in_s: float


Pending = dict[tuple[tuple[str, ...], tuple[str | int | float, ...]],
               list[tuple[float, "asyncio.Future[Outcome]"]]]


class RollingLog:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # a take's log entries are its time and a name unique to it; a random name per
        # take cost an os.urandom each, so this log's prefix is random once and then counts
        self._names = map(f"{secrets.token_hex(6)}:{{}}".format, itertools.count())
        self._acquire = redis.register_script(_ACQUIRE)
        self._peek = redis.register_script(_PEEK)

    async def take(self, windows: list[Window], daily: tuple[str, int, int] | None = None,
                   gates: Gates | None = None, clock: float = 0.0) -> Outcome:
        """Record one call in every window, or in none. ``daily`` is (key, allowed, ttl_s);
        ``gates`` are checked first, against ``clock`` (the caller's epoch seconds).

        The takes of the same windows, day and gates that come in the same turn of the
        event loop go to Redis as one: all are admitted when every window (and the day)
        has room for all. When not, the first is admitted, as it would have been alone,
        and the others come back refused with no wait, to take again (and then learn how
        long the wait is): a group given every free slot would starve the callers of
        other processes, which take one at a time."""
        keys, args = self._call(windows, daily, gates)
        key = (tuple(keys), tuple(args))
        # shared by every log on this Redis client (a budget each, many per batch of runs)
        pending = _pending.setdefault(self.redis, {})
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        waiting = pending.get(key)
        if waiting is None:
            waiting = pending[key] = []
            asyncio.get_running_loop().call_soon(self._go, pending, key)
        waiting.append((clock, future))
        return await future

    def _go(self, pending: Pending,
            key: tuple[tuple[str, ...], tuple[str | int | float, ...]]) -> None:
        waiting = pending.pop(key)
        task = asyncio.get_running_loop().create_task(self._take_many(key, waiting))
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def _take_many(self, key: tuple[tuple[str, ...], tuple[str | int | float, ...]],
                         waiting: list[tuple[float, asyncio.Future[Outcome]]]) -> None:
        keys, args = key
        clock = waiting[0][0]
        try:
            raw = await self._acquire(keys=list(keys), args=[
                next(self._names), args[0], args[1], repr(clock), *args[2:], len(waiting)])
        except asyncio.CancelledError:
            for _, future in waiting:
                future.cancel()
            raise
        except Exception as exc:  # each caller gets the error its own call would have
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        outcome = _outcome(raw)
        admitted = int(raw[5]) if outcome.admitted else 0
        for n, (_, future) in enumerate(waiting):
            if not future.done():
                future.set_result(outcome if n < admitted or not outcome.admitted
                                  else Outcome(admitted=False, at_us=outcome.at_us))

    @staticmethod
    def _call(windows: list[Window], daily: tuple[str, int, int] | None,
              gates: Gates | None) -> tuple[list[str], list[str | int | float]]:
        """The script's keys, and its arguments but for the take's name and clock."""
        held = gates.keys() if gates is not None else []
        keys = [*held, *(w.key for w in windows)]
        args: list[str | int | float] = [len(windows), len(held),
                                         repr(gates.floor) if gates is not None else -1]
        for w in windows:
            args += [w.micros, w.allowed]
        if daily is None:
            args += [-1, 0]
        else:
            keys.append(daily[0])
            args += [daily[1], daily[2]]
        return keys, args

    async def fill(self, windows: list[Window]) -> list[Fill]:
        if not windows:
            return []
        raw = await self._peek(keys=[w.key for w in windows], args=[w.micros for w in windows])
        return [Fill(w, int(raw[2 * i]), int(raw[2 * i + 1]) / US)
                for i, w in enumerate(windows)]


def _outcome(raw: list[Any]) -> Outcome:
    code = int(raw[0])
    if code == -1:
        return Outcome(admitted=False, at_us=0, daily_used=int(raw[1]))
    if code in _HELD:
        return Outcome(admitted=False, at_us=0, held_by=_HELD[code], stamp=_text(raw[1]),
                       reported_reset=_text(raw[2]) if len(raw) > 2 else "")
    if code > 0:
        return Outcome(admitted=False, at_us=int(raw[1]), wait_s=code / US)
    return Outcome(admitted=True, at_us=int(raw[1]), breaker_dirty=bool(int(raw[2])),
                   reported=_text(raw[3]), reported_reset=_text(raw[4]))


# the takes waiting for this turn of the loop, per Redis client (weakly: nothing in a
# group refers to the client, so a client nobody uses any more goes with its groups)
_pending: weakref.WeakKeyDictionary[Redis, Pending] = weakref.WeakKeyDictionary()
_running: set[asyncio.Task[None]] = set()  # takes under way, kept from the collector


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
