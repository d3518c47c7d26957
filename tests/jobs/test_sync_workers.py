"""Two real `connectus worker` processes share PostgreSQL and Redis: SIGKILL the one
running a sync mid-run, and the other takes the run over from its checkpoint and ends
with exactly the source's records."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from connectors.sandbox.kit import Faults
from jobs.sync.jobs import enqueue
from jobs.sync.runs import load, open_run
from store.models import SyncRun
from tests.jobs.conftest import make_flow
from tools.context import Services

CONTACTS = 2000


def _worker(services: Services, secret_keys: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": services.settings.database_url or "",
           "REDIS_URL": services.settings.redis_url or "", "CONNECTUS_DATA_DIR": str(tmp_path),
           "CONNECTUS_SECRET_KEYS": ",".join(secret_keys),
           "CONNECTUS_ALLOW_PRIVATE_URLS": "1"}  # the sandbox is this test process's
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _until(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_worker_s_run_is_finished_by_the_other_exactly(
        services: Services, sandbox: Any, secret_keys: list[str], tmp_path: Path) -> None:
    flow = await make_flow(services, sandbox.url, contacts=CONTACTS, sandbox=sandbox)
    sandbox.sandboxes["hubspot"].set_faults(Faults(latency_ms=120))  # a run of seconds
    workers = [_worker(services, secret_keys, tmp_path / f"w{n}") for n in range(2)]
    try:
        run, _ = await open_run(services.db, flow.caller.tenant_id, flow.id)
        await enqueue(services.queue, flow.id, run.id)

        async def midway() -> SyncRun | None:
            now = await load(services.db, flow.caller.tenant_id, run.id)
            return now if now.lease_owner and now.records_written >= 300 else None

        held = await _until(midway, 60, "the first batches")
        pid = int(held.lease_owner.split(":")[1])
        [victim] = [w for w in workers if w.pid == pid]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        # the victim's 60 s lease would lapse on its own; lapse it now to keep the test short
        async with services.db.transaction(flow.caller.tenant_id) as session:
            await session.execute(update(SyncRun).where(SyncRun.id == run.id)
                                  .values(lease_expires_at=datetime.now(UTC)))

        async def finished() -> SyncRun | None:
            now = await load(services.db, flow.caller.tenant_id, run.id)
            return now if now.status not in ("queued", "running") else None

        done = await _until(finished, 120, "the survivor to finish the run")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
    assert done.status == "succeeded"
    assert done.lease_owner is None and done.records_read == CONTACTS
    assert done.records_written == CONTACTS and done.records_unchanged == 0
    assert await flow.count() == CONTACTS and len(await flow.runs()) == 1
