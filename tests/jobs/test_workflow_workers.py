"""Two real `connectus worker` processes share PostgreSQL and Redis and take workflow runs
from one queue: SIGKILL one while it is running some, and the other finishes every run,
none lost and none counted twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, update

from connectors.sandbox.kit import Faults
from store.models import WorkflowRun
from tests.jobs.worker_processes import Workers, until
from tests.jobs.workflow_kit import auth, new_tenant
from tools.context import Services

RUNS = 30


async def test_a_killed_worker_s_runs_are_finished_by_the_other_none_lost_or_doubled(
        services: Services, api: httpx.AsyncClient, sandbox: Any,
        two_workers: Workers) -> None:
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

    held = await until(busy, 90, "runs under way")
    pid = two_workers.kill_holder(held[0].lease_owner or "")
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

    runs = await until(finished, 180, "the survivor to finish every run")
    two_workers.stop()
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
