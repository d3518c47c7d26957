"""Deletion checks: a deletion found by the provider's archive list and by an id-only scan,
marked ``deleted_at`` and never removed; none by a scan that could not finish; a record
that comes back is undeleted by the next sync; the check shares the flow's lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

import connectors.connector as connector_module
from connectors.providers.hubspot import SPEC as HUBSPOT
from connectors.sandbox.kit import Faults
from jobs.connecting import open_connector
from jobs.constants import QUEUE_NAME
from jobs.sync import runs, upkeep, upkeep_jobs
from jobs.sync.deletions import can_check, every
from store.models import DataFlow, SyncedRecord, SyncRun
from tests.jobs.conftest import Flow, make_flow
from tests.jobs.upkeep_helpers import (
    QUICK,
    age_runs,
    archive,
    check,
    deleted,
    logs,
    run_row,
)
from tests.queued_jobs import run_queued_jobs
from tools.context import Services


async def test_an_archived_contact_is_found_in_the_providers_archive(
        contacts_flow: Flow, sandbox: Any) -> None:
    assert (await contacts_flow.run())["status"] == "succeeded"
    victims = sorted(await contacts_flow.records(), key=int)[10:12]
    for victim in victims:
        await archive(sandbox.url, victim)
    result = await check(contacts_flow)
    assert result["status"] == "succeeded" and result["records_deleted"] == 2
    assert result["summary"]["method"] == "provider"
    assert await deleted(contacts_flow) == set(victims)
    assert await contacts_flow.count() == 250  # marked, never removed
    run = await run_row(contacts_flow, result["run_id"])
    assert run.trigger == "deletions" and run.finished_at is not None
    assert run.lease_owner is None
    # the sync's own standing is left alone: its last run is still the sync
    flow = await contacts_flow.flow()
    assert flow.last_run_id != run.id and flow.records_processed == 250


async def test_a_deletion_is_found_by_an_id_only_scan(contacts_flow: Flow, sandbox: Any) -> None:
    await contacts_flow.run()
    # the first sync was long ago, past the 90 days HubSpot keeps archived records: only a
    # scan of every id can tell now
    await age_runs(contacts_flow, datetime.now(UTC) - timedelta(days=120))
    victim = sorted(await contacts_flow.records(), key=int)[123]
    await archive(sandbox.url, victim)
    sandbox.sandboxes["hubspot"].requests.clear()
    result = await check(contacts_flow)
    assert result["status"] == "succeeded", result
    assert result["summary"]["method"] == "id_scan"
    assert result["summary"]["held"] == 250 and result["summary"]["read"] == 249
    assert result["records_deleted"] == 1 and result["summary"]["ids"] == [victim]
    assert await deleted(contacts_flow) == {victim}
    [first, *_] = [r for r in sandbox.sandboxes["hubspot"].requests
                   if r["path"].endswith("/crm/v3/objects/contacts")]
    assert first["query"]["properties"] == "hs_object_id"  # ids only, not the records


async def test_a_scan_that_fails_midway_deletes_nothing(contacts_flow: Flow, sandbox: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    await contacts_flow.run()
    await age_runs(contacts_flow, datetime.now(UTC) - timedelta(days=120))
    ids = sorted(await contacts_flow.records(), key=int)
    for victim in (ids[5], ids[240]):
        await archive(sandbox.url, victim)
    real_scan = connector_module.Connector.scan_ids

    async def breaks_after_the_first_page(self: Any, stream_name: str) -> Any:
        async for page in real_scan(self, stream_name):
            yield page
            # the provider goes down for good after one page of ids
            sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=1.0))

    monkeypatch.setattr(connector_module.Connector, "scan_ids", breaks_after_the_first_page)
    result = await check(contacts_flow, sync_attempts=QUICK)
    assert result["status"] == "failed"
    assert await deleted(contacts_flow) == set()  # ids[5] was "unseen" too: still live
    run = await run_row(contacts_flow, result["run_id"])
    assert run.records_deleted == 0 and run.summary["failure"] == "transient"
    [log] = await logs(contacts_flow, "sync_deletions")
    assert log.severity == "warning" and log.details["sync_run_id"] == result["run_id"]

    # the provider is back: the next check finds both
    sandbox.sandboxes["hubspot"].set_faults(Faults())
    monkeypatch.setattr(connector_module.Connector, "scan_ids", real_scan)
    again = await check(contacts_flow)
    assert again["status"] == "succeeded" and await deleted(contacts_flow) == {ids[5], ids[240]}


async def test_an_empty_scan_against_held_records_deletes_nothing(contacts_flow: Flow,
                                                                  sandbox: Any) -> None:
    await contacts_flow.run()
    await age_runs(contacts_flow, datetime.now(UTC) - timedelta(days=120))
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": 0}  # as a wrong setting or a lost permission looks
    box.reset()
    result = await check(contacts_flow)
    assert result["status"] == "failed" and "refusing" in result["error"]
    assert await deleted(contacts_flow) == set()


async def test_a_record_that_comes_back_is_undeleted_by_the_next_sync(contacts_flow: Flow,
                                                                      sandbox: Any) -> None:
    await contacts_flow.run()
    back = sorted(await contacts_flow.records(), key=int)[42]
    async with contacts_flow.services.db.transaction(contacts_flow.caller.tenant_id) as s:
        await s.execute(update(SyncedRecord).where(SyncedRecord.external_id == back)
                        .values(deleted_at=datetime.now(UTC)))
    assert await deleted(contacts_flow) == {back}
    # touched at the provider with the same values: its mapped content, and so its hash,
    # is unchanged, and it is undeleted all the same
    services = contacts_flow.services
    async with open_connector(services.db, services.vault, services.queue,
                              contacts_flow.integration, "hubspot") as connector:
        [record] = [r async for batch in connector.read_ids("contacts", [back]) for r in batch]
        result = await connector.write("contacts.update", [
            {"id": back, "firstname": record["properties"]["firstname"]}])
    assert result.ok == 1
    second = await contacts_flow.run()
    assert second["status"] == "succeeded" and second["records_written"] == 1
    assert await deleted(contacts_flow) == set()


async def test_a_check_never_overlaps_a_sync(contacts_flow: Flow) -> None:
    db, tenant = contacts_flow.services.db, contacts_flow.caller.tenant_id
    await contacts_flow.run()
    syncing = await runs.claim(db, tenant, contacts_flow.id, owner="worker-a", lease_s=30)
    assert syncing is not None
    assert (await check(contacts_flow))["status"] == "busy"
    assert await runs.finish(db, syncing, "worker-a", status="succeeded")

    checking = await upkeep.start(db, tenant, contacts_flow.id, owner="checker", lease_s=30,
                                  trigger="deletions")
    assert checking is not None
    # a sync finds the flow busy, and never takes the check's run for its own
    assert (await contacts_flow.run())["status"] == "held elsewhere"
    async with db.transaction(tenant) as session:  # the checker dies; its lease lapses
        await session.execute(update(SyncRun).where(SyncRun.id == checking.id)
                              .values(lease_expires_at=datetime.now(UTC) - timedelta(1)))
    assert await runs.stalled(db) == []  # the sweep does not hand it to the sync engine
    assert (await contacts_flow.run())["status"] == "held elsewhere"
    assert await upkeep.end_abandoned(contacts_flow.ctx()) == 1
    ended = await run_row(contacts_flow, checking.id)
    assert ended.status == "failed" and "lease lapsed" in (ended.error or "")
    assert (await contacts_flow.run())["status"] == "succeeded"


async def test_checks_are_scheduled_per_flow_by_their_contract(services: Services,
                                                               sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=30, sandbox=sandbox)
    ctx = flow.ctx()
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 0  # nothing synced yet
    await flow.run()
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 1
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 1  # the same job id again
    queued = [j for j in await services.queue.queued_jobs()
              if j.function == upkeep_jobs.DELETIONS_JOB]
    assert [j.args for j in queued] == [(str(flow.id),)]
    assert (await check(flow))["status"] == "succeeded"
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 0  # done for today
    # a week later it is due again; and a flow whose contract says off never is
    await age_runs(flow, datetime.now(UTC) - timedelta(days=7), trigger="deletions")
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 1
    async with services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(DataFlow).values(contract={"deletion_check": "off"}))
    assert await upkeep_jobs.schedule_deletion_checks(ctx) == 0
    assert every(await flow.flow()) is None
    assert can_check(HUBSPOT.stream("contacts"))


async def test_a_worker_runs_the_scheduled_check(services: Services, sandbox: Any,
                                                 redis_url: str) -> None:
    flow = await make_flow(services, sandbox.url, contacts=40, sandbox=sandbox)
    await flow.run()
    victim = sorted(await flow.records(), key=int)[0]
    await archive(sandbox.url, victim)
    assert await upkeep_jobs.schedule_deletion_checks(flow.ctx()) == 1
    for job in await services.queue.queued_jobs():  # due now, not after its jitter
        await services.queue.zadd(QUEUE_NAME, {job.job_id: 1})
    await run_queued_jobs(services, redis_url)
    assert await deleted(flow) == {victim}
    [check_run] = [r for r in await flow.runs() if r.trigger == "deletions"]
    assert check_run.status == "succeeded" and check_run.records_deleted == 1
