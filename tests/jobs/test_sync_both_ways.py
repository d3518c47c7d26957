"""Both-ways flows against the HubSpot simulator: a change on either side moves once and
the next run writes nothing either way (the echo of our own write is dropped, even where
an inbound rule would transform it); a field both sides changed is listed as a conflict
with both versions while the rest of the record syncs; settling it applies the kept
version; newest-wins and field owners decide without a person."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connectors.request import Request
from jobs.connecting import open_connector
from store.errors import ValidationFailed
from store.models import SyncedRecord
from tests.jobs.conftest import Flow, hubspot_batches, make_flow, provider_contact, redirect
from tools.conflicts import list_conflicts, resolve_conflict
from tools.context import Services
from tools.flow_records import RecordWrite, put_record

BOTH: dict[str, Any] = {
    "direction": "bidirectional",
    "source_fields": ["email", "firstname", "lastname", "company"],
    "target_fields": ["email", "firstName", "lastName", "company"]}


async def both_ways_flow(services: Services, sandbox: Any, **over: Any) -> Flow:
    flow = await make_flow(services, sandbox.url, contacts=5, sandbox=sandbox)
    await redirect(flow, **{**BOTH, **over})
    first = await flow.run()
    assert first["status"] == "succeeded" and first["records_written"] == 5, first
    assert hubspot_batches(sandbox) == []  # what came from HubSpot is not written back
    return flow


async def rows_by_id(flow: Flow) -> dict[str, SyncedRecord]:
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        rows = (await session.scalars(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow.id))).all()
    return {r.external_id: r for r in rows}


async def change_at_hubspot(flow: Flow, contact_id: str, **properties: Any) -> None:
    """A person edits the contact in HubSpot (one PATCH: the batch log stays Connectus's)."""
    async with open_connector(flow.services.db, flow.services.vault, flow.services.queue,
                              flow.integration, "hubspot") as connector:
        await connector.client.send(Request("PATCH", f"/crm/v3/objects/contacts/{contact_id}",
                                            json={"properties": properties}))


def state(rows: dict[str, SyncedRecord]) -> dict[str, tuple[Any, ...]]:
    """What a run that writes nothing leaves exactly as it was."""
    return {k: (r.data, r.changed_at, r.synced_at, r.base, r.remote_base, r.pushed_hash)
            for k, r in rows.items()}


async def last_summary(flow: Flow) -> dict[str, Any]:
    return (await flow.runs())[-1].summary


async def test_a_change_on_either_side_moves_once_and_then_nothing_moves_either_way(
        services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox)
    ours, theirs = sorted(await rows_by_id(flow))[:2]

    await put_record(services, flow.caller, flow.id, ours,
                     RecordWrite(data={"firstName": "Grace"}))
    await flow.run()
    # only the changed field, by HubSpot id: one update call with one input
    assert hubspot_batches(sandbox) == [{"object": "contacts", "action": "update", "inputs": 1}]
    assert (await provider_contact(flow, ours))["firstname"] == "Grace"
    assert (await last_summary(flow))["outbound"]["written"] == 1

    before = state(await rows_by_id(flow))
    echo = await flow.run()  # reads our own write back: dropped, nothing written anywhere
    assert echo["status"] == "succeeded"
    summary = await last_summary(flow)
    assert summary["inbound"]["read"] >= 1 and summary["inbound"]["written"] == 0
    assert summary["inbound"]["echoes"] >= 1
    assert summary["outbound"]["read"] == 0 and summary["outbound"]["written"] == 0
    assert len(hubspot_batches(sandbox)) == 1
    assert state(await rows_by_id(flow)) == before

    await change_at_hubspot(flow, theirs, lastname="Hopper")  # now the other way
    calls = len(hubspot_batches(sandbox))
    await flow.run()
    assert (await rows_by_id(flow))[theirs].data["lastName"] == "Hopper"
    summary = await last_summary(flow)
    assert summary["inbound"]["written"] == 1 and summary["outbound"]["written"] == 0
    assert len(hubspot_batches(sandbox)) == calls  # not written back
    before = state(await rows_by_id(flow))
    await flow.run()
    assert state(await rows_by_id(flow)) == before and len(hubspot_batches(sandbox)) == calls


async def test_a_conflict_is_listed_with_both_versions_and_the_rest_of_the_record_syncs(
        services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox)
    [contact] = sorted(await rows_by_id(flow))[:1]
    original = (await rows_by_id(flow))[contact].data["firstName"]
    await put_record(services, flow.caller, flow.id, contact,
                     RecordWrite(data={"firstName": "Ours", "company": "Our Co"}))
    await change_at_hubspot(flow, contact, firstname="Theirs", lastname="Theirlast")

    result = await flow.run()
    assert result["status"] == "succeeded"
    [conflict] = await list_conflicts(services, flow.caller, data_flow=flow.id, status="open")
    assert (conflict.external_id, conflict.fields) == (contact, ["firstName"])
    assert conflict.local == {"firstName": "Ours"} and conflict.remote == {"firstName": "Theirs"}
    assert conflict.base == {"firstName": original}
    assert (await last_summary(flow))["inbound"]["conflicts"] == 1
    # the record's other fields moved both ways; the conflicting one on neither
    here = (await rows_by_id(flow))[contact].data
    assert (here["firstName"], here["lastName"], here["company"]) == (
        "Ours", "Theirlast", "Our Co")
    there = await provider_contact(flow, contact)
    assert (there["firstname"], there["lastname"], there["company"]) == (
        "Theirs", "Theirlast", "Our Co")
    assert hubspot_batches(sandbox) == [{"object": "contacts", "action": "update", "inputs": 1}]

    before = state(await rows_by_id(flow))  # no echo, no second conflict
    await flow.run()
    assert state(await rows_by_id(flow)) == before and len(hubspot_batches(sandbox)) == 1
    assert [c.id for c in await list_conflicts(services, flow.caller, data_flow=flow.id)] == \
        [conflict.id]

    settled = await resolve_conflict(services, flow.caller, conflict.id, "local")
    assert settled.conflict.status == "resolved" and settled.record.waiting
    assert settled.queued_run is not None
    await flow.run(settled.queued_run)
    assert (await provider_contact(flow, contact))["firstname"] == "Ours"
    assert hubspot_batches(sandbox)[1:] == [
        {"object": "contacts", "action": "update", "inputs": 1}]
    before = state(await rows_by_id(flow))
    await flow.run()
    assert state(await rows_by_id(flow)) == before and len(hubspot_batches(sandbox)) == 2
    assert await list_conflicts(services, flow.caller, data_flow=flow.id, status="open") == []


async def test_keeping_the_remote_version_takes_it_here_and_writes_nothing_there(
        services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox)
    [contact] = sorted(await rows_by_id(flow))[:1]
    await put_record(services, flow.caller, flow.id, contact,
                     RecordWrite(data={"firstName": "Ours"}))
    await change_at_hubspot(flow, contact, firstname="Theirs")
    await flow.run()
    [conflict] = await list_conflicts(services, flow.caller, status="open")
    settled = await resolve_conflict(services, flow.caller, conflict.id, "remote")
    assert settled.record.data["firstName"] == "Theirs" and not settled.record.waiting
    assert settled.queued_run is None
    await flow.run()
    assert hubspot_batches(sandbox) == []
    assert (await rows_by_id(flow))[contact].data["firstName"] == "Theirs"
    with pytest.raises(Exception, match="settled already"):
        await resolve_conflict(services, flow.caller, conflict.id, "local")


async def test_newest_wins_settles_a_change_on_both_sides_by_its_time(
        services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox, conflict_policy="newest_wins")
    first, second = sorted(await rows_by_id(flow))[:2]
    # ours, then theirs: HubSpot's is the later change
    await put_record(services, flow.caller, flow.id, first,
                     RecordWrite(data={"firstName": "Ours"}))
    await change_at_hubspot(flow, first, firstname="Theirs")
    # theirs, then ours: ours is the later one
    await change_at_hubspot(flow, second, firstname="Theirs")
    await put_record(services, flow.caller, flow.id, second,
                     RecordWrite(data={"firstName": "Ours"}))
    await flow.run()
    assert await list_conflicts(services, flow.caller) == []
    rows = await rows_by_id(flow)
    assert rows[first].data["firstName"] == "Theirs"
    assert rows[second].data["firstName"] == "Ours"
    assert (await provider_contact(flow, second))["firstname"] == "Ours"
    assert hubspot_batches(sandbox) == [{"object": "contacts", "action": "update", "inputs": 1}]


async def test_a_field_flows_only_from_its_owner(services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox,
                                field_owners={"email": "provider", "company": "connectus"})
    [contact] = sorted(await rows_by_id(flow))[:1]
    with pytest.raises(ValidationFailed, match="owned by hubspot"):
        await put_record(services, flow.caller, flow.id, contact,
                         RecordWrite(data={"email": "mine@example.com"}))
    kept = (await rows_by_id(flow))[contact].data["company"]
    await change_at_hubspot(flow, contact, company="Their Co")
    await flow.run()  # Connectus owns company: HubSpot's change is not taken in
    assert (await rows_by_id(flow))[contact].data["company"] == kept
    assert hubspot_batches(sandbox) == []
    await put_record(services, flow.caller, flow.id, contact,
                     RecordWrite(data={"company": "Our Co"}))
    await flow.run()
    assert (await provider_contact(flow, contact))["company"] == "Our Co"
    assert await list_conflicts(services, flow.caller) == []


async def test_the_echo_is_dropped_even_where_an_inbound_rule_would_change_it(
        services: Services, sandbox: Any) -> None:
    """firstName is upper-cased on the way in. Our write of "grace" comes back as "grace",
    which the rule would make "GRACE": still our echo, so nothing changes on either side
    (compared as HubSpot holds it, not as the rule makes it)."""
    flow = await both_ways_flow(services, sandbox, source_fields=[], target_fields=[],
                                mappings=[
        {"source": "email", "target": "email"},
        {"source": "firstname", "target": "firstName",
         "rules": [{"rule": "case", "to": "upper"}]}])
    [contact] = sorted(await rows_by_id(flow))[:1]
    assert (await rows_by_id(flow))[contact].data["firstName"].isupper()
    await put_record(services, flow.caller, flow.id, contact,
                     RecordWrite(data={"firstName": "grace"}))
    await flow.run()
    assert (await provider_contact(flow, contact))["firstname"] == "grace"
    for _ in range(2):
        before = state(await rows_by_id(flow))
        await flow.run()
        assert state(await rows_by_id(flow)) == before
    assert (await rows_by_id(flow))[contact].data["firstName"] == "grace"
    assert len(hubspot_batches(sandbox)) == 1


async def test_a_record_made_here_is_created_there_once_and_linked(
        services: Services, sandbox: Any) -> None:
    flow = await both_ways_flow(services, sandbox)
    made = await put_record(services, flow.caller, flow.id, "new-ada", RecordWrite(data={
        "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}))
    assert made.created and made.record.remote_id is None
    await flow.run()
    assert hubspot_batches(sandbox) == [{"object": "contacts", "action": "upsert", "inputs": 1}]
    row = (await rows_by_id(flow))["new-ada"]
    assert row.remote_id is not None and row.pushed_hash == row.content_hash
    await flow.run()  # the new contact comes back: it is the same record, not a second one
    rows = await rows_by_id(flow)
    assert len(rows) == 6 and sandbox.sandboxes["hubspot"].state.created == {"contacts": 1}
    assert len(hubspot_batches(sandbox)) == 1
