"""A HubSpot delivery of many events makes one batch job of runs (jobs/workflows/runner.py
``run_workflows``). SIGKILL the `connectus worker` that took the batch while its runs are
under way, and the other worker finishes every one of them: none lost, none run twice,
each counted once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update

from connectors.sandbox.kit import Faults
from store.models import WorkflowRun
from tests.jobs.worker_processes import Workers, until
from tests.jobs.workflow_kit import creation, new_tenant
from tools.context import Services

EVENTS = 20


async def test_a_worker_killed_mid_batch_leaves_no_run_lost_or_doubled(
        services: Services, api: httpx.AsyncClient, sandbox: Any,
        two_workers: Workers) -> None:
    tenant = await new_tenant(services, api, sandbox, slug="batchkill")
    first = f"{sandbox.url}/zapier/hooks/catch/1234567/first/"
    hook = f"{sandbox.url}/zapier/hooks/catch/1234567/batch/"
    email = "c{{ event.objectId }}@batch.example"
    # the first step cannot be done twice (a post), so it is written as done before the
    # second starts; a repeatable one (an upsert) need not be (runner.py _must_write)
    workflow = await tenant.workflow(actions=[
        {"type": "http_request", "url": first, "json_body": {"id": "{{ event.objectId }}"}},
        {"type": "http_request", "url": hook, "json_body": {"id": "{{ event.objectId }}"}},
        {"type": "create_contact", "fields": {"email": email, "notified": "yes"}}])
    sandbox.sandboxes["zapier"].set_faults(Faults(latency_ms=1500))
    try:
        answer = await tenant.deliver(*(creation(str(1001 + n), eventId=70_000 + n)
                                        for n in range(EVENTS)))
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Connectus-Events-Stored"] == str(EVENTS)

        async def under_way() -> list[WorkflowRun] | None:
            runs = await tenant.runs()
            # the batch's runs are all claimed by one worker, and their first step is done
            held = [r for r in runs if r.status == "running" and r.lease_owner
                    and r.steps and r.steps[0]["status"] == "succeeded"]
            owners = {r.lease_owner.split(":")[1] for r in held if r.lease_owner}
            return held if len(held) >= EVENTS // 2 and len(owners) == 1 else None

        held = await until(under_way, 120, "the batch under way")
        pid = two_workers.kill_holder(held[0].lease_owner or "")
        async with services.db.transaction(tenant.caller.tenant_id) as session:
            orphans = (await session.execute(
                update(WorkflowRun).where(WorkflowRun.status == "running",
                                          WorkflowRun.lease_owner.like(f"%:{pid}:%"))
                .values(lease_expires_at=datetime.now(UTC)).returning(WorkflowRun.id))).all()
        assert len(orphans) >= EVENTS // 2  # killed with the batch's runs in its hands

        async def finished() -> list[WorkflowRun] | None:
            runs = await tenant.runs()
            return runs if len(runs) == EVENTS and all(
                r.status not in ("queued", "running") for r in runs) else None

        runs = await until(finished, 180, "the survivor to finish the batch")
    finally:
        two_workers.stop()
    assert {r.status for r in runs} == {"succeeded"}
    assert await tenant.counts(workflow["id"]) == (EVENTS, EVENTS)
    contacts = await tenant.contacts()
    assert sorted(c.email for c in contacts) == sorted(
        f"c{1001 + n}@batch.example" for n in range(EVENTS))
    assert all(c.data.get("notified") == "yes" for c in contacts)
    # the first step, done before the kill, is not done again; the step under way at the
    # kill is done again at most once (at least once), and none a third time
    done_before = {r.id for r in held}
    assert all(r.steps[0]["attempts"] == 1 for r in runs if r.id in done_before)
    firsts = [r for r in sandbox.sandboxes["zapier"].requests if r["path"].endswith("/first/")]
    assert EVENTS <= len(firsts) <= 2 * EVENTS - len(done_before)  # those done: not again
    posts = [r for r in sandbox.sandboxes["zapier"].requests if r["path"].endswith("/batch/")]
    assert EVENTS <= len(posts) <= EVENTS + len(orphans)
    assert all(s["attempts"] <= 2 for r in runs for s in r.steps)
