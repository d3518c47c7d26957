"""CPU seconds spent by each part of a benchmark, from the processes' own counters.

A rate on a shared machine says as much about the neighbours as about the code; the CPU
a part spent per unit of work does not. ``CpuMeter`` reads, for each named part, the
user+system seconds of its processes (and of the children they have reaped, so a
PostgreSQL backend that exited still counts) at ``start`` and at ``stop``.

PostgreSQL is found through the backends it reports (their parent is the postmaster)
and Redis through ``INFO server``: both only when they run on this machine (a remote
server's CPU is not ours to read, and its part is left out).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

import psutil
from redis.asyncio import Redis
from sqlalchemy import text

from store.db import Database


def _tree_seconds(pid: int) -> float:
    """User+system CPU of a process, its reaped children and its live descendants (the
    process this runs in: its own alone, its children being the other parts)."""
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        if pid == os.getpid():
            return times.user + times.system
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                ct = child.cpu_times()
                total += ct.user + ct.system
    except psutil.Error:
        return 0.0
    return total


class CpuMeter:
    def __init__(self) -> None:
        self.parts: dict[str, list[int]] = {}
        self._start: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._frozen: dict[str, float] = {}

    def add(self, part: str, pids: Iterable[int]) -> None:
        self.parts.setdefault(part, []).extend(pids)

    async def add_servers(self, db: Database, redis_url: str | None) -> None:
        with contextlib.suppress(Exception):  # a remote PostgreSQL: its part is left out
            async with db.engine.connect() as connection:
                backend = int((await connection.execute(text("SELECT pg_backend_pid()")))
                              .scalar_one())
            postmaster = psutil.Process(backend).ppid()
            self.add("postgresql", [postmaster])
        if redis_url:
            with contextlib.suppress(Exception):
                client = Redis.from_url(redis_url)
                try:
                    pid = int((await client.info("server"))["process_id"])
                finally:
                    await client.aclose()
                if psutil.pid_exists(pid):
                    self.add("redis", [pid])

    def _now(self) -> dict[str, float]:
        return {part: sum(_tree_seconds(pid) for pid in pids)
                for part, pids in self.parts.items()}

    def start(self) -> None:
        self._start = self._now()

    def freeze(self, part: str) -> None:
        """Read one part now, its work done, before its process exits (which takes its
        counters with it)."""
        self._frozen[part] = sum(_tree_seconds(pid) for pid in self.parts.get(part, []))

    def stop(self) -> None:
        """Read before the processes stop: an exited process's counters are gone."""
        now = {**self._now(), **self._frozen}
        self._spent = {part: now[part] - self._start.get(part, 0.0) for part in now}

    def per_unit_ms(self, units: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work, each part and ``total``."""
        if units <= 0:
            return {}
        shares = {part: round(1000 * spent / units, 2) for part, spent in self._spent.items()}
        shares["total"] = round(1000 * sum(self._spent.values()) / units, 2)
        return shares

    def seconds(self) -> dict[str, float]:
        return {part: round(spent, 2) for part, spent in self._spent.items()}
