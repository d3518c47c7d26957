"""Two real `connectus worker` processes on one test's PostgreSQL and Redis, for the tests
that SIGKILL one mid-run and watch the other take the work over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from tools.context import Services

T = TypeVar("T")


class Workers:
    def __init__(self, processes: list[subprocess.Popen]) -> None:
        self.processes = processes

    def kill_holder(self, lease_owner: str) -> int:
        """SIGKILL the worker a lease names ("host:pid:..."), as a crash would; its pid."""
        pid = int(lease_owner.split(":")[1])
        [victim] = [p for p in self.processes if p.pid == pid]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        return pid

    def wait_started(self, logs: list[Path], timeout_s: float = 180) -> None:
        """Until every worker has imported the app and begun polling: on a busy machine that
        alone can take a minute, which must not count against a test's own waits."""
        deadline = time.monotonic() + timeout_s
        while not all("Starting worker" in log.read_text() for log in logs):
            for process, log in zip(self.processes, logs, strict=True):
                assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            process.wait(timeout=30)


@contextmanager
def running_workers(services: Services, secret_keys: list[str], data_dir: Path,
                    count: int = 2) -> Iterator[Workers]:
    env = {**os.environ, "DATABASE_URL": services.settings.database_url or "",
           "REDIS_URL": services.settings.redis_url or "",
           "CONNECTUS_SECRET_KEYS": ",".join(secret_keys),
           "CONNECTUS_ALLOW_PRIVATE_URLS": "1"}  # the sandbox is this test process's
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as logs:
        # each worker's log stays in the test's tmp dir, for a failure to be read from
        workers = Workers([subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "worker"],
            env={**env, "CONNECTUS_DATA_DIR": str(data_dir / f"w{n}")},
            stdout=subprocess.DEVNULL,
            stderr=logs.enter_context(open(data_dir / f"worker{n}.log", "w")))
            for n in range(count)])
        try:
            workers.wait_started([data_dir / f"worker{n}.log" for n in range(count)])
            yield workers
        finally:
            workers.stop()


async def until(check: Callable[[], Awaitable[T | None]], timeout_s: float, what: str) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
