"""A burst through the shared budget, and the highest count of calls in any rolling window.

Used by tests/connectors/test_rate_budget.py; run on its own it prints the figure per
provider (embedded Redis, or REDIS_URL):

    .venv/bin/python -m tests.connectors.burst

Windows are shrunk so that a burst of a few hundred calls spans several of them: a
limit of N calls per W seconds becomes N per N/``CALLS_PER_S`` seconds. The figure is a
limit check, max calls in any window against the allowance, not a speed.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from connectors.quota import CEILING, Priority, QuotaBudget
from connectors.request import Request
from connectors.rolling import Window
from connectors.spec import ConnectorSpec, RateLimit

CALLS_PER_S = 400  # what each shrunk window lets through, on average
MIN_WINDOW_S = 0.02


def shrink(limit: RateLimit) -> RateLimit:
    """The same allowances over short windows, and no daily cap (tested on its own)."""
    def seconds(requests: int) -> float:
        return max(MIN_WINDOW_S, requests / CALLS_PER_S)

    return replace(
        limit, daily=None,
        per_seconds=seconds(limit.requests) if limit.requests else limit.per_seconds,
        endpoints=tuple(replace(e, per_seconds=seconds(e.requests)) for e in limit.endpoints))


def sample_requests(spec: ConnectorSpec) -> list[Request]:
    """The requests a connector makes: its probe, each stream's first page and delta, each
    write; a per-parameter endpoint limit gets two values of its parameter."""
    found = [spec.connection_test.request]
    for stream in spec.streams:
        first = Request(stream.method, stream.path, dict(stream.params), json=stream.body)
        found.append(first)
        if stream.delta is not None:
            found.append(stream.delta.request(stream, "2024-01-01T00:00:00Z", first)[0])
    found += [Request(w.method, w.path, json={}) for w in spec.writes]
    for limit in spec.rate_limit.endpoints:
        if limit.per_param is not None:
            path = limit.path.replace("*", "x")
            found += [Request(limit.method or "POST", path, json={limit.per_param: value})
                      for value in ("C1", "C2")]
    return found


def max_in_window(stamps_us: list[int], seconds: float) -> int:
    """The most stamps in any half-open stretch [t, t + seconds), t being any stamp."""
    ordered = sorted(stamps_us)
    width = Window("", 1, seconds).micros
    return max((bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered)),
               default=0)


@dataclass
class Figure:
    bucket: str
    allowed: int
    seconds: float
    calls: int
    max_in_window: int


async def burst(redis_url: str, spec: ConnectorSpec, *, calls: int = 300, tasks: int = 12,
                priorities: tuple[Priority, ...] = tuple(Priority), account: str = "burst",
                requests: list[Request] | None = None, seed: int = 6) -> list[Figure]:
    """``calls`` calls from ``tasks`` concurrent tasks over two budgets on two Redis
    connections (as two processes would be), requests (by default every kind the
    connector makes) and priorities drawn at random."""
    limit = shrink(spec.rate_limit)
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    budgets = [QuotaBudget(c, spec.name, account, limit, max_wait_s=120) for c in clients]
    requests, rng = requests or sample_requests(spec), random.Random(seed)
    plan = [(rng.choice(requests), rng.choice(priorities)) for _ in range(calls)]
    stamps: dict[str, list[int]] = defaultdict(list)
    windows: dict[str, Window] = {}

    async def worker(n: int) -> None:
        budget = budgets[n % 2]
        for request, priority in plan[n::tasks]:
            at = await budget.acquire(priority, request)
            for window in budget.windows(Priority.chat, request):  # chat: the full allowance
                windows[window.key] = window
                stamps[window.key].append(at)

    try:
        await asyncio.gather(*(worker(n) for n in range(tasks)))
    finally:
        for client in clients:
            await client.aclose()
    share = max(CEILING[p] for p in priorities)
    return [Figure(bucket=key.rsplit(":roll", 1)[1].lstrip(":") or "general",
                   allowed=max(1, int(w.allowed * share)), seconds=w.seconds,
                   calls=len(stamps[key]), max_in_window=max_in_window(stamps[key], w.seconds))
            for key, w in sorted(windows.items())]


async def _main() -> None:
    import os

    from connectors.registry import connector_names, connector_spec
    from store.embedded import EmbeddedRedis

    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="connectus-burst-")))
        url = server.start()
    try:
        report: dict[str, Any] = {}
        for name in connector_names():
            spec = connector_spec(name)
            # chat alone may use the whole allowance, so the bursts press on the limit:
            # one of every kind of request, then one per endpoint-limited request alone
            runs = [None] + [[r] for r in sample_requests(spec) if spec.rate_limit.endpoint(r)]
            figures: dict[str, Figure] = {}
            for n, requests in enumerate(runs):
                for f in await burst(url, spec, calls=600, priorities=(Priority.chat,),
                                     requests=requests, account=f"bench-{n}"):
                    if f.bucket not in figures or f.max_in_window > figures[f.bucket].max_in_window:
                        figures[f.bucket] = f
            report[name] = [f"{f.bucket}: {f.max_in_window}/{f.allowed} in any "
                            f"{f.seconds:g}s ({f.calls} calls)" for f in figures.values()] or [
                "no rolling limit documented (daily cap or concurrency only)"]
        json.dump(report, sys.stdout, indent=2)
        print()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(_main())
