"""The load side of ``connectus bench workflows``: signed HubSpot deliveries on loopback.

``python -m evals.bench.workflow_load CONFIG_JSON`` POSTs, for ``CONFIG.seconds``, one
HubSpot ``contact.creation`` delivery after another to ``CONFIG.url``, ``CONFIG.rate``
events a second in deliveries of ``CONFIG.events_per_delivery`` each (1 unless set:
HubSpot sends up to 100 in one JSON array) (open loop: each delivery is due at its time
whether or not the earlier ones were answered, at most ``CONFIG.concurrency`` in flight,
HubSpot's default 10), each event a distinct event about a distinct contact, signed as HubSpot signs
(``X-HubSpot-Signature-v3`` over method, URI, body and ``X-HubSpot-Request-Timestamp``).
A share ``CONFIG.redelivery_share`` are redeliveries of an event already sent (answered
or not yet: a slow answer is what makes HubSpot retry), as HubSpot makes them: the same
event with ``attemptNumber`` one higher, a fresh timestamp and signature (the second
delivery always repeats the first). It writes the
accepted event ids to ``CONFIG.accepted_path`` and prints one JSON line: what was sent,
what was answered how, and each request's latency (from the moment it was sent to its
whole answer).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from connectors.providers.hubspot import signature_v3
from connectors.sandbox.hubspot.data import PORTAL_ID

FIRST_EVENT_ID = 10_000_000
CONCURRENCY = 10  # HubSpot's default for an app's webhooks: at most 10 requests in flight


def event(n: int, first_contact: int) -> dict[str, Any]:
    return {"eventId": FIRST_EVENT_ID + n, "subscriptionId": 2_000_001, "portalId": PORTAL_ID,
            "appId": 1357911, "occurredAt": int(time.time() * 1000),
            "subscriptionType": "contact.creation", "attemptNumber": 0,
            "objectId": first_contact + n, "changeSource": "CRM"}


def signed(secret: str, url: str, events: list[dict[str, Any]]) -> tuple[dict[str, str], bytes]:
    body = json.dumps(events, separators=(",", ":")).encode()
    stamp = str(int(time.time() * 1000))
    return {"Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature_v3(secret, "POST", url, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp}, body


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Load:
    def __init__(self, config: dict[str, Any]) -> None:
        self.url, self.secret = str(config["url"]), str(config["secret"])
        self.seconds, self.rate = float(config["seconds"]), float(config["rate"])
        self.first_contact = int(config["first_contact"])
        self.redelivery_share = float(config.get("redelivery_share", 0.02))
        self.concurrency = int(config.get("concurrency", CONCURRENCY))
        # HubSpot sends a JSON array of up to 100 events a delivery
        self.batch = max(1, min(100, int(config.get("events_per_delivery", 1))))
        self.gate = asyncio.Semaphore(self.concurrency)
        self.random = random.Random(int(config.get("seed", 7)))
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.made: list[dict[str, Any]] = []  # every new event, in order
        self.accepted: set[int] = set()  # the ids of events a delivery was answered 2xx
        self.redelivered: set[int] = set()
        self.deadline = float("inf")  # when sending stops (set when it starts)
        self.unsent = 0  # deliveries due before the deadline but not sent by then
        self.redeliveries = 0  # sent
        self.late_ms = 0.0  # how far behind its schedule the latest send was, at most

    async def send(self, client: aiohttp.ClientSession, items: list[dict[str, Any]],
                   new: int) -> None:
        async with self.gate:
            if time.perf_counter() > self.deadline:
                self.unsent += 1  # its time came while the ingress was still busy
                return
            headers, body = signed(self.secret, self.url, items)  # fresh when it goes
            started = time.perf_counter()
            try:
                async with client.post(self.url, headers=headers, data=body) as answer:
                    await answer.read()
                    status = str(answer.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[status] += 1
        self.redeliveries += len(items) - new
        if status.startswith("2"):
            self.accepted.update(int(item["eventId"]) for item in items)

    def next_item(self, n: int) -> tuple[dict[str, Any], bool]:
        # the second delivery always repeats the first, so even a short run checks it
        first_repeat = len(self.made) == 1 and not self.redelivered
        if self.made and self.redelivery_share > 0 and (
                first_repeat or self.random.random() < self.redelivery_share):
            earlier = self.random.choice(self.made)
            self.redelivered.add(int(earlier["eventId"]))
            return {**earlier, "attemptNumber": int(earlier["attemptNumber"]) + 1}, False
        self.made.append(event(n, self.first_contact))
        return self.made[-1], True

    async def run(self) -> dict[str, Any]:
        # aiohttp (its C parser): less of the load's own CPU per delivery than httpx, on
        # the machine it shares with what it measures
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=30.0)) as client:
            began_at, began = time.time(), time.perf_counter()
            self.deadline = began + self.seconds
            n = sent = 0
            # for S seconds of the clock: deliveries the ingress was too slow to take by
            # then are not sent (offered_per_s says how many were)
            while (due := sent * self.batch / self.rate) < self.seconds \
                    and time.perf_counter() - began < self.seconds:
                wait = due - (time.perf_counter() - began)
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    self.late_ms = max(self.late_ms, -wait * 1000)
                items, new = [], 0
                for _ in range(self.batch):
                    item, fresh = self.next_item(n)
                    items.append(item)
                    n += fresh
                    new += fresh
                sent += 1
                task = asyncio.create_task(self.send(client, items, new))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - began
        sent -= self.unsent
        return {"began_at": began_at, "seconds": round(elapsed, 3), "sent": sent,
                "rate": self.rate,
                "events_per_delivery": self.batch,
                "unsent": self.unsent, "redeliveries": self.redeliveries,
                "events": len(self.accepted), "statuses": dict(self.statuses),
                "redelivered_events": len(self.redelivered),
                "p50_ms": round(statistics.median(self.latencies), 2) if self.latencies else 0,
                "p99_ms": round(percentile(self.latencies, 0.99), 2),
                "max_ms": round(max(self.latencies, default=0.0), 2),
                # events (redeliveries among them) a second, as the rate is given
                "offered_per_s": round(sent * self.batch / elapsed, 1),
                "deliveries_per_s": round(sent / elapsed, 1),
                "late_ms_max": round(self.late_ms, 1)}


def main() -> None:
    config = json.loads(sys.argv[1])
    load = Load(config)
    result = asyncio.run(load.run())
    Path(config["accepted_path"]).write_text(
        "\n".join(str(n) for n in sorted(load.accepted)))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
