"""What the connector framework costs on the read path, against a plain httpx loop.

``python -m evals.read_overhead --records 20000`` starts the HubSpot simulator in
process with N contacts and its rate limits lifted, then reads every contact twice
in the same run: once through ``Connector.pages`` (real embedded Redis, the quota
budget and breaker on, their limits lifted so only their cost is measured) and once
through a plain httpx loop following ``paging.next.after`` that throws the pages
away (the fetch-only limit). It prints one JSON object:
``{records, connector_records_per_s, fetch_only_records_per_s, ratio}``.

The sides alternate for ``--rounds`` pairs; each pair gives a ratio and the median
pair is reported, so a noisy neighbour on a shared machine, which slows whichever side
happens to be running, does not decide it. ``cpu_ratio`` compares this process's CPU
time per record (the simulator's thread included, Redis's process not): the same
comparison, blind to other processes' load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from connectors.connector import Connector
from connectors.providers.hubspot import SPEC
from connectors.sandbox.server import SandboxServer
from connectors.spec import RateLimit
from store.embedded import EmbeddedRedis

LIFTED = RateLimit(requests=10**9, per_seconds=10, daily=10**12)
PAGE = 100
FIELDS = ",".join(SPEC.stream("contacts").fields)


async def through_connector(url: str, redis: Redis) -> tuple[int, float, float]:
    spec = replace(SPEC, rate_limit=LIFTED)
    async with Connector(spec, {"access_token": "sandbox"}, {"sandbox_url": url},
                         redis=redis) as connector:
        started, cpu, count = time.perf_counter(), time.process_time(), 0
        async for page in connector.pages("contacts", page_size=PAGE):
            count += len(page.records)
        return count, time.perf_counter() - started, time.process_time() - cpu


async def fetch_only(url: str) -> tuple[int, float, float]:
    base = f"{url}/hubspot/crm/v3/objects/contacts"
    params: dict[str, Any] = {"properties": FIELDS, "archived": "false", "limit": PAGE}
    async with httpx.AsyncClient(headers={"Authorization": "Bearer sandbox"}) as client:
        started, cpu, count = time.perf_counter(), time.process_time(), 0
        while True:
            body = (await client.get(base, params=params)).json()
            count += len(body["results"])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return count, time.perf_counter() - started, time.process_time() - cpu
            params = {**params, "after": after}


async def measure(records: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cx-read-") as data_dir, \
            SandboxServer(counts={"hubspot": {"contacts": records}}, only=["hubspot"]) as sandbox:
        embedded = EmbeddedRedis(Path(data_dir))
        redis = Redis.from_url(embedded.start())
        try:
            async with httpx.AsyncClient() as control:
                (await control.post(f"{sandbox.url}/hubspot/_sandbox/limits",
                                    json={"ten_secondly": 10**9, "daily": 10**12})
                 ).raise_for_status()
            pairs = []
            for _ in range(rounds):
                connector = await through_connector(sandbox.url, redis)
                fetch = await fetch_only(sandbox.url)
                assert connector[0] == fetch[0] == records, (connector, fetch, records)
                pairs.append((connector, fetch))
        finally:
            await redis.aclose()
            embedded.stop()
    pairs.sort(key=lambda pair: pair[1][1] / pair[0][1])
    (_, wall, _), (_, fetch_wall, _) = pairs[len(pairs) // 2]
    cpu = statistics.median(fetch[2] / connector[2] for connector, fetch in pairs)
    return {"records": records, "connector_records_per_s": round(records / wall),
            "fetch_only_records_per_s": round(records / fetch_wall),
            "ratio": round(fetch_wall / wall, 3), "cpu_ratio": round(cpu, 3),
            "rounds": rounds,
            "note": "simulator rate limits and the budget's limits lifted on both sides"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.records, args.rounds))))


if __name__ == "__main__":
    main()
