"""A run survives its worker: a crash mid-batch resumes from the last committed batch with
exactly the source's records; two claims of one flow yield one run; a quota cap pauses
the run at its checkpoint and defers it to the reset."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

import jobs.sync.engine as engine_module
from jobs.constants import SYNC_JOB
from jobs.sync import runs
from jobs.sync.engine import Engine
from jobs.sync.records import BatchRun, Rejected, Row, write_batch
from store.models import DeadLetter, HealthLog, SyncRun
from tests.jobs.conftest import Flow, make_flow
from tools.context import Services


class Crash(Exception):
    """Stands in for SIGKILL: nothing below the engine catches it."""


def _contact_pages(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.sandboxes["hubspot"].requests
            if r["path"].endswith("/crm/v3/objects/contacts")]


async def test_a_crash_mid_batch_resumes_from_the_checkpoint_with_nothing_doubled(
        services: Services, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = await make_flow(services, sandbox.url, contacts=450, sandbox=sandbox)
    real_write, calls = engine_module.write_batch, []

    async def dies_in_the_third_batch(*args: Any, **kwargs: Any) -> int | None:
        calls.append(1)
        if len(calls) == 3:  # the page's one statement is its commit: die just before it
            raise Crash
        return await real_write(*args, **kwargs)

    monkeypatch.setattr(engine_module, "write_batch", dies_in_the_third_batch)
    run = await runs.claim(services.db, flow.caller.tenant_id, flow.id, owner="worker-a",
                           lease_s=30)
    assert run is not None
    with pytest.raises(Crash):
        await Engine(services.db, services.vault, services.queue, "worker-a", 30).run(run)
    monkeypatch.setattr(engine_module, "write_batch", real_write)
    assert await flow.count() == 200  # two pages in; the third never committed

    # while worker-a's lease is live nobody else may take the run
    assert (await flow.run())["status"] == "held elsewhere"
    async with services.db.transaction(flow.caller.tenant_id) as session:  # the lease lapses
        await session.execute(update(SyncRun).values(lease_expires_at=datetime.now(UTC)))
    result = await flow.run()
    assert result["status"] == "succeeded" and result["run_id"] == str(run.id)
    assert await flow.count() == 450
    [finished] = await flow.runs()
    assert (finished.records_read, finished.records_written, finished.records_unchanged) == \
        (450, 450, 0)
    # pages 1-3 by worker-a (and the pages it read ahead while page 3 was being written:
    # 4, and 5 if its answer came before the crash), then 3-5 again from the checkpoint:
    # page 3 is read twice and written once
    afters = [page["query"].get("after") for page in _contact_pages(sandbox)]
    by_a, by_b = afters[:-3], afters[-3:]
    assert by_a[0] is None and by_b[0] == by_a[2]  # b starts at the page a died in
    assert by_a[3:] in ([by_b[1]], by_b[1:])  # only what a had read ahead
    assert int(by_a[1]) < int(by_b[0]) < int(by_b[1]) < int(by_b[2])
    assert (await flow.flow()).records_processed == 450


async def test_two_claims_of_one_flow_yield_one_run(contacts_flow: Flow) -> None:
    db, tenant = contacts_flow.services.db, contacts_flow.caller.tenant_id
    claims = await asyncio.gather(*(runs.claim(db, tenant, contacts_flow.id, owner=f"w{n}",
                                               lease_s=30) for n in range(4)))
    taken = [c for c in claims if c is not None]
    assert len(taken) == 1
    # the holder's run is the only one; a worker job for the flow leaves it alone
    assert (await contacts_flow.run())["status"] == "held elsewhere"
    assert [r.id for r in await contacts_flow.runs()] == [taken[0].id]
    opened, created = await runs.open_run(db, tenant, contacts_flow.id)
    assert opened.id == taken[0].id and not created


async def test_two_jobs_at_once_sync_the_flow_once(contacts_flow: Flow) -> None:
    results = await asyncio.gather(contacts_flow.run(), contacts_flow.run())
    assert sorted(r["status"] for r in results) == ["held elsewhere", "succeeded"]
    assert len(await contacts_flow.runs()) == 1 and await contacts_flow.count() == 250


async def test_an_exhausted_quota_pauses_at_the_checkpoint_and_defers_to_the_reset(
        services: Services, sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=450, sandbox=sandbox)
    async with httpx.AsyncClient() as client:
        await client.post(f"{sandbox.url}/hubspot/_sandbox/limits", json={"daily": 2})
    result = await flow.run()
    assert result["status"] == "paused"
    [run] = await flow.runs()
    assert run.status == "paused" and run.lease_owner is None
    assert run.records_written == 200 and run.checkpoint["resume"] is not None
    assert "quota" in (run.error or "").lower()
    resumes_at = datetime.fromisoformat(run.summary["resumes_at"])
    assert resumes_at > datetime.now(UTC)
    [job] = [j for j in await services.queue.queued_jobs() if j.function == SYNC_JOB]
    assert job.args == (str(flow.id), str(run.id))
    assert job.score == int(resumes_at.timestamp() * 1000)
    async with services.db.session(flow.caller.tenant_id) as session:
        logs = (await session.scalars(
            HealthLog.__table__.select().where(HealthLog.category == "sync_quota_exhausted")
        )).all()
    assert logs

    async with httpx.AsyncClient() as client:  # the reset comes; the deferred job runs
        await client.post(f"{sandbox.url}/hubspot/_sandbox/limits", json={"daily": 1_000_000})
    for key in await services.queue.keys("connectus:quota:hubspot:*"):  # as a new day would
        await services.queue.delete(key)
    resumed = await flow.run(run.id)
    assert resumed["status"] == "succeeded" and resumed["run_id"] == str(run.id)
    assert await flow.count() == 450
    [done] = await flow.runs()
    assert done.records_read == 450 and done.records_written == 450


async def test_a_page_written_after_another_worker_took_the_run_writes_nothing(
        contacts_flow: Flow) -> None:
    db, tenant = contacts_flow.services.db, contacts_flow.caller.tenant_id
    run = await runs.claim(db, tenant, contacts_flow.id, owner="worker-a", lease_s=30)
    assert run is not None
    async with db.transaction(tenant) as session:  # worker-b took the run over
        await session.execute(update(SyncRun).values(lease_owner="worker-b"))
    page = ([Row("1", {"email": "ann@example.com"}, None)],
            [Rejected("2", {"id": "2"}, [{"field": "email", "rule": 0, "message": "bad"}])])

    async def write(owner: str) -> int | None:
        who = BatchRun(tenant, run.id, contacts_flow.id, owner,
                       datetime.now(UTC) + timedelta(seconds=30))
        async with db.held_connection() as held:
            return await write_batch(held, who, *page, read=2,
                                     checkpoint={"cursor": None, "resume": {}, "done": False})

    assert await write("worker-a") is None
    [current] = await contacts_flow.runs()
    assert (current.records_read, current.records_failed) == (0, 0)
    assert await contacts_flow.count() == 0
    async with db.session(tenant) as session:
        assert (await session.scalars(select(DeadLetter))).all() == []

    assert await write("worker-b") == 1  # its owner's page goes in whole
    [current] = await contacts_flow.runs()
    assert (current.records_read, current.records_written, current.records_failed) == (2, 1, 1)
    async with db.session(tenant) as session:
        [letter] = (await session.scalars(select(DeadLetter))).all()
    assert letter.external_id == "2" and letter.sync_run_id == run.id
