"""Two real `connectus worker` processes share PostgreSQL and Redis: SIGKILL the one
running a sync mid-run, and the other takes the run over from its checkpoint and ends
with exactly the source's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from connectors.sandbox.kit import Faults
from jobs.sync.jobs import enqueue
from jobs.sync.runs import load, open_run
from store.models import SyncRun
from tests.jobs.conftest import make_flow
from tests.jobs.worker_processes import Workers, until
from tools.context import Services

CONTACTS = 2000


async def test_a_killed_worker_s_run_is_finished_by_the_other_exactly(
        services: Services, sandbox: Any, two_workers: Workers) -> None:
    flow = await make_flow(services, sandbox.url, contacts=CONTACTS, sandbox=sandbox)
    sandbox.sandboxes["hubspot"].set_faults(Faults(latency_ms=120))  # a run of seconds
    run, _ = await open_run(services.db, flow.caller.tenant_id, flow.id)
    await enqueue(services.queue, flow.id, run.id)

    async def midway() -> SyncRun | None:
        now = await load(services.db, flow.caller.tenant_id, run.id)
        return now if now.lease_owner and now.records_written >= 300 else None

    held = await until(midway, 60, "the first batches")
    two_workers.kill_holder(held.lease_owner or "")
    # the victim's 60 s lease would lapse on its own; lapse it now to keep the test short
    async with services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(SyncRun).where(SyncRun.id == run.id)
                              .values(lease_expires_at=datetime.now(UTC)))

    async def finished() -> SyncRun | None:
        now = await load(services.db, flow.caller.tenant_id, run.id)
        return now if now.status not in ("queued", "running") else None

    done = await until(finished, 120, "the survivor to finish the run")
    two_workers.stop()
    assert done.status == "succeeded"
    assert done.lease_owner is None and done.records_read == CONTACTS
    assert done.records_written == CONTACTS and done.records_unchanged == 0
    assert await flow.count() == CONTACTS and len(await flow.runs()) == 1
