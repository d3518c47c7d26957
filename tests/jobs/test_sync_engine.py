"""The sync engine against the HubSpot simulator: a full sync to the last record, a delta
that moves only what changed, and a bad record dead-lettered while the run goes on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from jobs.connecting import open_connector
from store.models import DeadLetter
from tests.jobs.conftest import Flow, make_flow
from tools.context import Services


async def test_a_full_sync_reaches_the_last_record_once(contacts_flow: Flow) -> None:
    result = await contacts_flow.run()
    assert result["status"] == "succeeded"
    records = await contacts_flow.records()
    assert len(records) == 250 == await contacts_flow.count()
    some = next(iter(records.values()))
    assert set(some) == {"email", "firstName", "lastName"} and "@" in some["email"]
    [run] = await contacts_flow.runs()
    assert (run.status, run.records_read, run.records_written, run.records_unchanged,
            run.records_failed) == ("succeeded", 250, 250, 0, 0)
    assert run.finished_at is not None and run.lease_owner is None
    assert run.checkpoint["done"] and run.checkpoint["resume"] is None
    flow = await contacts_flow.flow()
    assert flow.records_processed == 250 and flow.records_failed == 0
    assert flow.last_run_id == run.id and flow.last_run_at is not None
    assert flow.cursor == {"since": run.checkpoint["cursor"]} == run.cursor_after


async def test_a_delta_moves_only_the_changes(contacts_flow: Flow, sandbox: Any) -> None:
    await contacts_flow.run()
    before = await contacts_flow.records()
    changed = sorted(before)[:3]
    async with open_connector(contacts_flow.services.db, contacts_flow.services.vault,
                              contacts_flow.services.queue, contacts_flow.integration,
                              "hubspot") as connector:
        result = await connector.write("contacts.update", [
            {"id": external_id, "firstname": f"Changed{n}"}
            for n, external_id in enumerate(changed)])
    assert result.ok == 3
    second = await contacts_flow.run()
    assert second["status"] == "succeeded"
    _, delta = await contacts_flow.runs()
    # the delta reads from the stored cursor: the changes (and records sharing the cursor's
    # own moment, which hash the same and are skipped), not all 250
    assert delta.records_written == 3 and delta.records_read < 250
    assert delta.records_unchanged == delta.records_read - 3
    assert delta.cursor_before == (await contacts_flow.runs())[0].cursor_after
    after = await contacts_flow.records()
    assert len(after) == 250
    assert {after[i]["firstName"] for i in changed} == {"Changed0", "Changed1", "Changed2"}
    assert all(after[i] == before[i] for i in before if i not in changed)


async def test_a_bad_record_is_dead_lettered_with_its_reason_and_the_run_goes_on(
        services: Services, sandbox: Any) -> None:
    flow = await make_flow(services, sandbox.url, contacts=120, sandbox=sandbox, mappings=[
        {"source": "email", "target": "email", "rules": ["required"]},
        {"source": "firstname", "target": "firstName"}])
    async with open_connector(services.db, services.vault, services.queue, flow.integration,
                              "hubspot") as connector:
        created = await connector.write("contacts.create", [{"firstname": "NoMail"}])
    [bad_id] = created.ids
    result = await flow.run()
    assert result["status"] == "partial" and result["records_failed"] == 1
    records = await flow.records()
    assert len(records) == 120 and bad_id not in records
    [run] = await flow.runs()
    assert (run.records_read, run.records_written, run.records_failed) == (121, 120, 1)
    async with services.db.session(flow.caller.tenant_id) as session:
        [letter] = (await session.scalars(select(DeadLetter))).all()
    assert letter.external_id == bad_id and letter.sync_run_id == run.id
    assert letter.status == "open" and letter.record["properties"]["firstname"] == "NoMail"
    assert letter.errors == [{"field": "email", "rule": 0,
                              "message": "is required but missing or empty"}]
    stored = await flow.flow()
    assert stored.records_failed == 1 and stored.records_processed == 120


async def test_the_page_upsert_writes_only_its_own_tenants_rows(contacts_flow: Flow) -> None:
    """The page goes in as arrays in one statement; its tenant is still checked by the
    store's guard, and a row stored keeps its source time and content hash."""
    from datetime import UTC, datetime

    from jobs.sync.records import Row, content_hash, upsert
    from store.errors import PermissionDenied
    from store.models import SyncedRecord
    from tests.conftest import make_tenant

    services, tenant = contacts_flow.services, contacts_flow.caller.tenant_id
    other, _ = await make_tenant(services, "globex")
    row = Row("42", {"email": "a@b.example", "n": 1}, "2024-01-02T03:04:05.000Z")
    with pytest.raises(PermissionDenied):
        async with services.db.transaction(tenant) as session:
            await upsert(session, other.tenant_id, contacts_flow.id, [row])
    async with services.db.transaction(tenant) as session:
        assert await upsert(session, tenant, contacts_flow.id, [row, row]) == 1
        assert await upsert(session, tenant, contacts_flow.id, [row]) == 0  # unchanged
    async with services.db.session(tenant) as session:
        [stored] = (await session.scalars(select(SyncedRecord))).all()
    assert (stored.external_id, stored.data, stored.content_hash) == (
        "42", row.data, content_hash(row.data))
    assert stored.source_updated_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
