"""Two real `connectus worker` processes share PostgreSQL and Redis and take workflow runs
from one queue: SIGKILL one while it is running some, and the other finishes every run,
none lost and none counted twice."""

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

import httpx
from sqlalchemy import func, select, update

from connectors.sandbox.kit import Faults
from store.models import WorkflowRun
from tests.jobs.workflow_kit import auth, new_tenant
from tools.context import Services

RUNS = 30


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


async def test_a_killed_worker_s_runs_are_finished_by_the_other_none_lost_or_doubled(
        services: Services, api: httpx.AsyncClient, sandbox: Any, secret_keys: list[str],
        tmp_path: Path) -> None:
    tenant = await new_tenant(services, api, sandbox)
    hook = f"{sandbox.url}/zapier/hooks/catch/1234567/workers/"
    workflow = await tenant.workflow(name="Slow", trigger_type="manual", trigger_config={},
                                     actions=[{"type": "create_contact",
                                               "fields": {"email": "{{ event.email }}"}},
                                              {"type": "http_request", "url": hook,
                                               "json_body": {"n": "{{ event.n }}"}},
                                              {"type": "update_contact",
                                               "fields": {"email": "{{ event.email }}",
                                                          "notified": "yes"}}])
    sandbox.sandboxes["zapier"].set_faults(Faults(latency_ms=400))  # runs of about a second
    workers = [_worker(services, secret_keys, tmp_path / f"w{n}") for n in range(2)]
    try:
        for n in range(RUNS):
            queued = await api.post(f"/integrations/workflows/{workflow['id']}/execute/",
                                    headers=auth(tenant.key),
                                    json={"payload": {"n": n, "email": f"p{n}@x.example"}})
            assert queued.status_code == 202, queued.text

        async def busy() -> list[WorkflowRun] | None:
            runs = await tenant.runs()
            done = sum(r.status == "succeeded" for r in runs)
            held = [r for r in runs if r.status == "running" and r.lease_owner]
            return held if done >= 3 and held else None

        held = await _until(busy, 90, "runs under way")
        pid = int(held[0].lease_owner.split(":")[1])
        [victim] = [w for w in workers if w.pid == pid]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        # the victim's 60 s leases would lapse on their own; lapse them now to keep it short
        async with services.db.transaction(tenant.caller.tenant_id) as session:
            orphans = (await session.execute(
                update(WorkflowRun).where(WorkflowRun.status == "running",
                                          WorkflowRun.lease_owner.like(f"%:{pid}:%"))
                .values(lease_expires_at=datetime.now(UTC)).returning(WorkflowRun.id))).all()
        assert orphans  # it was killed mid-run

        async def finished() -> list[WorkflowRun] | None:
            runs = await tenant.runs()
            return runs if all(r.status not in ("queued", "running") for r in runs) else None

        runs = await _until(finished, 180, "the survivor to finish every run")
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
    assert len(runs) == RUNS and {r.status for r in runs} == {"succeeded"}
    assert await tenant.counts(workflow["id"]) == (RUNS, RUNS)  # each run counted once
    contacts = await tenant.contacts()
    assert sorted(c.email for c in contacts) == sorted(f"p{n}@x.example" for n in range(RUNS))
    assert all(c.data.get("notified") == "yes" for c in contacts)
    async with services.db.session(tenant.caller.tenant_id) as session:
        assert await session.scalar(select(func.count()).select_from(WorkflowRun)) == RUNS
    # a step under way when its worker died is done again by the survivor (at least once):
    # only the runs the victim held can have a second attempt, and none has a third
    posts = [r for r in sandbox.sandboxes["zapier"].requests if r["path"].endswith("/workers/")]
    assert RUNS <= len(posts) <= RUNS + len(orphans)
    taken = [r for r in runs if any(s["attempts"] > 1 for s in r.steps)]
    assert {r.id for r in taken} <= {o.id for o in orphans}
    assert all(s["attempts"] <= 2 for r in runs for s in r.steps)
