"""Outbound flows against the HubSpot simulator: changed local records go out in the
provider's batch size and not again, a batch sent twice after a crash creates nothing
twice, and a refused record is dead-lettered and left alone until it changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

import jobs.sync.outbound as outbound_module
from jobs.sync import runs
from jobs.sync.engine import Engine
from jobs.sync.records import content_hash
from store.models import DeadLetter, SyncedRecord, SyncRun
from tests.jobs.conftest import Flow, hubspot_batches, make_flow, provider_contact, redirect
from tools.context import Services
from tools.flow_records import RecordWrite, put_record

OUTBOUND: dict[str, Any] = {"direction": "outbound", "mappings": [
    {"source": "email", "target": "email"},
    {"source": "firstName", "target": "firstname"},
    {"source": "lastName", "target": "lastname", "rules": [{"rule": "case", "to": "upper"}]}]}


class Crash(Exception):
    """Stands in for SIGKILL: nothing below the engine catches it."""


async def outbound_flow(services: Services, sandbox: Any) -> Flow:
    flow = await make_flow(services, sandbox.url, contacts=10, sandbox=sandbox)
    return await redirect(flow, **OUTBOUND)


async def add_local(flow: Flow, count: int, prefix: str = "new") -> None:
    """Records made in Connectus, as put_record makes them (in bulk, to be quick)."""
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        data = {"email": f"{prefix}.{n}@example.com", "firstName": f"First{n}",
                "lastName": f"last{n}"}
        rows.append(SyncedRecord(data_flow_id=flow.id, external_id=f"{prefix}-{n:04d}",
                                 data=data, content_hash=content_hash(data), origin="connectus",
                                 local_changed_at=now))
    async with flow.services.db.transaction(flow.caller.tenant_id) as session:
        session.add_all(rows)


async def rows_of(flow: Flow) -> list[SyncedRecord]:
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        return list((await session.scalars(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow.id).order_by(SyncedRecord.id))).all())


async def test_an_outbound_batch_honours_the_provider_limit(services: Services,
                                                            sandbox: Any) -> None:
    flow = await outbound_flow(services, sandbox)
    await add_local(flow, 250)
    result = await flow.run()
    assert result["status"] == "succeeded", result
    # 250 records in HubSpot's batch limit of 100: three upsert calls, none larger
    assert hubspot_batches(sandbox) == [
        {"object": "contacts", "action": "upsert", "inputs": n} for n in (100, 100, 50)]
    assert sandbox.sandboxes["hubspot"].state.created == {"contacts": 250}
    [run] = await flow.runs()
    assert (run.records_read, run.records_written, run.records_failed) == (250, 250, 0)
    assert run.summary["outbound"] == {"read": 250, "written": 250, "unchanged": 0,
                                       "failed": 0, "batches": 3}
    rows = await rows_of(flow)
    assert all(r.pushed_hash == r.content_hash and r.pushed_at for r in rows)
    assert len({r.remote_id for r in rows}) == 250 and None not in {r.remote_id for r in rows}
    first = rows[0]
    there = await provider_contact(flow, str(first.remote_id))
    # the rules apply on the way out: lastName is upper-cased in HubSpot, not here
    assert (there["email"], there["firstname"], there["lastname"]) == (
        "new.0@example.com", "First0", "LAST0")
    assert first.data["lastName"] == "last0"

    again = await flow.run()  # nothing changed here: nothing is written
    assert again["records_read"] == 0 and len(hubspot_batches(sandbox)) == 3

    changed = await put_record(services, flow.caller, flow.id, first.external_id,
                               RecordWrite(data={"firstName": "Changed"}))
    assert changed.changed and changed.record.waiting
    third = await flow.run()
    assert third["records_written"] == 1
    # a record whose HubSpot id is known is updated by it (its e-mail may change)
    assert hubspot_batches(sandbox)[3:] == [
        {"object": "contacts", "action": "update", "inputs": 1}]
    assert (await provider_contact(flow, str(first.remote_id)))["firstname"] == "Changed"
    assert sandbox.sandboxes["hubspot"].state.created == {"contacts": 250}


async def test_a_batch_sent_again_after_a_crash_creates_nothing_twice(
        services: Services, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = await outbound_flow(services, sandbox)
    await add_local(flow, 250)
    real, commits = outbound_module.Pusher._record, []

    async def dies_after_hubspot_took_the_second_batch(self: Any, *args: Any) -> Any:
        commits.append(1)
        if len(commits) == 2:  # HubSpot has the batch; our commit of it never happens
            raise Crash
        return await real(self, *args)

    monkeypatch.setattr(outbound_module.Pusher, "_record",
                        dies_after_hubspot_took_the_second_batch)
    run = await runs.claim(services.db, flow.caller.tenant_id, flow.id, owner="worker-a",
                           lease_s=30)
    assert run is not None
    with pytest.raises(Crash):
        await Engine(services.db, services.vault, services.queue, "worker-a", 30).run(run)
    monkeypatch.setattr(outbound_module.Pusher, "_record", real)
    assert sum(1 for r in await rows_of(flow) if r.pushed_hash == r.content_hash) == 100

    async with services.db.transaction(flow.caller.tenant_id) as session:  # the lease lapses
        await session.execute(update(SyncRun).values(lease_expires_at=datetime.now(UTC)))
    result = await flow.run()
    assert result["status"] == "succeeded" and result["run_id"] == str(run.id)
    # the second batch went twice, as an upsert by e-mail: the same 100 contacts again
    assert [b["inputs"] for b in hubspot_batches(sandbox, "upsert")] == [100, 100, 100, 50]
    assert sandbox.sandboxes["hubspot"].state.created == {"contacts": 250}
    [done] = await flow.runs()
    assert (done.records_read, done.records_written, done.records_failed) == (250, 250, 0)
    rows = await rows_of(flow)
    assert all(r.pushed_hash == r.content_hash for r in rows)
    assert len({r.remote_id for r in rows}) == 250


async def test_a_refused_record_is_dead_lettered_and_not_sent_again_until_it_changes(
        services: Services, sandbox: Any) -> None:
    flow = await outbound_flow(services, sandbox)
    await add_local(flow, 3)
    caller = flow.caller
    await put_record(services, caller, flow.id, "bad-mail",
                     RecordWrite(data={"email": "not-an-address", "firstName": "Bad"}))
    await put_record(services, caller, flow.id, "no-mail", RecordWrite(data={"firstName": "X"}))
    result = await flow.run()
    assert result["status"] == "partial" and result["records_failed"] == 2
    assert result["records_written"] == 3
    async with services.db.session(caller.tenant_id) as session:
        letters = {d.external_id: d for d in (await session.scalars(select(DeadLetter))).all()}
    assert set(letters) == {"bad-mail", "no-mail"}
    assert "email" in letters["no-mail"].errors[0]["message"]
    assert letters["bad-mail"].errors[0]["message"]  # HubSpot's own words
    assert letters["bad-mail"].record["sent"]["email"] == "not-an-address"

    batches = len(hubspot_batches(sandbox))
    again = await flow.run()  # the refused versions are not sent again
    assert again["records_read"] == 0 and len(hubspot_batches(sandbox)) == batches

    fixed = await put_record(services, caller, flow.id, "bad-mail",
                             RecordWrite(data={"email": "fixed@example.com"}))
    assert fixed.record.waiting and not fixed.record.refused
    third = await flow.run()
    assert (third["records_read"], third["records_written"]) == (1, 1)
    assert third["status"] == "succeeded"


async def test_an_exhausted_quota_pauses_the_writes_and_the_resume_finishes_them(
        services: Services, sandbox: Any) -> None:
    flow = await outbound_flow(services, sandbox)
    await add_local(flow, 250)
    async with httpx.AsyncClient() as client:  # two calls left today at HubSpot
        await client.post(f"{sandbox.url}/hubspot/_sandbox/limits", json={"daily": 2})
    result = await flow.run()
    assert result["status"] == "paused"
    [run] = await flow.runs()
    assert (run.status, run.records_written) == ("paused", 200)
    assert run.checkpoint["phase"] == "outbound" and run.checkpoint["after"]

    async with httpx.AsyncClient() as client:  # the reset comes
        await client.post(f"{sandbox.url}/hubspot/_sandbox/limits", json={"daily": 1_000_000})
    for key in await services.queue.keys("connectus:quota:hubspot:*"):  # as a new day would
        await services.queue.delete(key)
    resumed = await flow.run(run.id)
    assert resumed["status"] == "succeeded" and resumed["run_id"] == str(run.id)
    assert [b["inputs"] for b in hubspot_batches(sandbox)] == [100, 100, 50]
    assert sandbox.sandboxes["hubspot"].state.created == {"contacts": 250}
    [done] = await flow.runs()
    assert (done.records_read, done.records_written) == (250, 250)
    assert done.summary["outbound"]["batches"] == 3
