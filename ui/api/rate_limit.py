"""How often one API key may ask Connectus (``CONNECTUS_ASK_RATE_LIMIT``, "30/minute" by
default: each ask runs a model, the costliest request there is), and how often it may
send MCP requests (``CONNECTUS_MCP_RATE_LIMIT``, "600/minute": another program's agent can
loop far faster than a person).

`limits`' moving window, kept in Redis, so every web replica counts against the same
window; an installation without Redis counts in this process. Keys are counted by a hash
of the key, never the key itself. Past the limit the answer is a 429 in the one error
shape, with Retry-After saying when the oldest ask in the window leaves it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from tools.context import Caller, Services, TransientError
from ui.api.deps import CallerDep, ServicesDep

_bearer = HTTPBearer(auto_error=False)
NAMESPACE = "connectus:ask"
MCP_NAMESPACE = "connectus:mcp"


class RateLimited(TransientError):
    code = "rate_limited"
    status = 429


def storage_uri(redis_url: str) -> str:
    """`limits` names its async Redis storage by scheme: redis:// -> async+redis://."""
    scheme, _, rest = redis_url.partition("://")
    return {"unix": "async+redis+unix"}.get(scheme, f"async+{scheme}") + "://" + rest


class AskLimiter:
    """A moving window per API key; ``setting`` and ``doing`` name it in the refusal."""

    def __init__(self, redis_url: str | None, rate: str, *, namespace: str = NAMESPACE,
                 setting: str = "CONNECTUS_ASK_RATE_LIMIT", doing: str = "asked") -> None:
        store: Storage = RedisStorage(storage_uri(redis_url), implementation="redispy",
                                      key_prefix=namespace, wrap_exceptions=True) \
            if redis_url else MemoryStorage()
        self.limiter = MovingWindowRateLimiter(store)
        self.rate: RateLimitItem = parse(rate)
        self.setting, self.doing = setting, doing

    async def hit(self, api_key: str) -> None:
        who = hashlib.sha256(api_key.encode()).hexdigest()[:32]
        try:
            if await self.limiter.hit(self.rate, who):
                return
            stats = await self.limiter.get_window_stats(self.rate, who)
        except StorageError as exc:  # Redis is down: so is the queue every write needs
            raise TransientError("the rate limiter's Redis cannot be reached; try again "
                                 "shortly", retry_after=5) from exc
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(f"this API key {self.doing} more than {self.rate.amount} times in "
                          f"{self.rate.get_expiry()} s ({self.setting} is "
                          f"{self.rate}); try again in {wait} s", retry_after=wait)


def _kept(services: Services, name: str, make: Callable[[], AskLimiter]) -> AskLimiter:
    """One limiter of each kind per process: its Redis connection pool is reused."""
    found = services.extras.get(name)
    if not isinstance(found, AskLimiter):
        found = services.extras[name] = make()
    return found


def _limiter(services: Services) -> AskLimiter:
    return _kept(services, "ask_limiter", lambda: AskLimiter(
        services.settings.redis_url, services.settings.ask_rate_limit))


def mcp_limiter(services: Services) -> AskLimiter:
    return _kept(services, "mcp_limiter", lambda: AskLimiter(
        services.settings.redis_url, services.settings.mcp_rate_limit,
        namespace=MCP_NAMESPACE, setting="CONNECTUS_MCP_RATE_LIMIT",
        doing="sent MCP requests"))


async def limited_caller(
        services: ServicesDep, caller: CallerDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, once this ask is within their key's rate (authenticated first: an
    unknown key is a 401, never a 429)."""
    assert credentials is not None  # get_caller refused a request without a key
    await _limiter(services).hit(credentials.credentials)
    return caller


AskingCaller = Annotated[Caller, Depends(limited_caller)]
