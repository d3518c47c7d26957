"""The data flow operations themselves: validation on save, PATCH, tenancy, roles, and
the dry run writing nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError

from store.accounts import Caller
from store.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from store.models import DataFlow, Role, SyncedRecord, SyncRun
from tests.conftest import make_tenant
from tools import flow_dry_run
from tools.context import Services
from tools.data_flows import (
    DataFlowCreate,
    DataFlowUpdate,
    create_data_flow,
    delete_data_flow,
    get_data_flow,
    list_data_flows,
    update_data_flow,
)
from tools.integrations import IntegrationCreate, create_integration

BRIEF = {"name": "Contacts Sync", "direction": "inbound", "stream": "contacts",
         "source_fields": ["email", "firstname", "lastname"],
         "target_fields": ["email", "firstName", "lastName"], "sync_frequency": "hourly"}


async def _hubspot(services: Services, caller: Caller, sandbox_url: str = "") -> uuid.UUID:
    settings = {"sandbox_url": sandbox_url} if sandbox_url else {}
    made = await create_integration(services, caller, IntegrationCreate(
        provider="hubspot", name="HubSpot", credentials={"access_token": "sandbox"},
        settings=settings))
    return made.id


def _flow(integration: uuid.UUID, **over: Any) -> DataFlowCreate:
    return _flow_with(integration, over)


def _flow_with(integration: uuid.UUID, over: dict[str, Any]) -> DataFlowCreate:
    return DataFlowCreate(**{"integration": integration, **BRIEF, **over})


async def test_the_briefs_example(services: Services, tenant) -> None:
    caller, _ = tenant
    integration = await _hubspot(services, caller)
    before = datetime.now(UTC)
    flow = await create_data_flow(services, caller, _flow(integration))
    assert flow.mappings == [{"source": "email", "target": "email", "rules": []},
                             {"source": "firstname", "target": "firstName", "rules": []},
                             {"source": "lastname", "target": "lastName", "rules": []}]
    assert flow.source_fields == BRIEF["source_fields"] and flow.status == "active"
    assert flow.next_run_at is not None
    # an hour from now, plus the flow's own jitter (at most five minutes)
    assert timedelta(minutes=60) <= flow.next_run_at - before < timedelta(minutes=66)
    assert (flow.records_processed, flow.records_failed, flow.last_run) == (0, 0, None)
    assert [f.id for f in await list_data_flows(services, caller, integration)] == [flow.id]
    assert await list_data_flows(services, caller, uuid.uuid4()) == []
    with pytest.raises(Conflict):
        await create_data_flow(services, caller, _flow(integration))


async def test_cron_schedule_computes_the_next_run_in_its_zone(services: Services,
                                                              tenant) -> None:
    caller, _ = tenant
    integration = await _hubspot(services, caller)
    flow = await create_data_flow(services, caller, _flow(
        integration, sync_frequency="cron",
        schedule={"cron": "30 6 * * *", "timezone": "Asia/Kolkata"}))
    assert flow.next_run_at is not None
    assert flow.next_run_at.astimezone(UTC).strftime("%H:%M") in {f"01:0{m}" for m in range(5)}
    paused = await update_data_flow(services, caller, flow.id, DataFlowUpdate(status="paused"))
    assert paused.next_run_at is None and paused.schedule["timezone"] == "Asia/Kolkata"
    manual = await update_data_flow(services, caller, flow.id,
                                    DataFlowUpdate(sync_frequency="manual", status="active"))
    assert (manual.schedule, manual.next_run_at) == ({}, None)


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"stream": "contact"}, "stream",
     "hubspot has no stream 'contact'; did you mean 'contacts'?"),
    ({"source_fields": ["email", "first_name", "lastname"]}, "source_fields[1]",
     "unknown field 'first_name'; did you mean 'firstname'?"),
    ({"target_fields": ["email", "firstName"]}, "target_fields",
     "has 2 fields but source_fields has 3; they pair up one to one"),
    ({"transformation_rules": {"email": ["trim", {"rule": "emial"}]}},
     "transformation_rules.email[1].rule", "unknown rule 'emial'; did you mean 'email'?"),
    ({"source_fields": [], "target_fields": [], "mappings": [
        {"source": "email", "target": "email"},
        {"source": ["firstname", "lastname"], "target": "name",
         "rules": [{"rule": "concat", "separator": 3}]}]},
     "mappings[1].rules[0].separator", "must be a string, not int"),
    ({"mappings": [{"source": "email", "target": "email"}]}, "mappings",
     "give either mappings or source_fields/target_fields"),
    ({"sync_frequency": "cron", "schedule": {"cron": "0 25 * * *"}}, "schedule.cron",
     "'0 25 * * *' is not a cron expression of five fields"),
    ({"sync_frequency": "cron"}, "schedule.cron", 'is required for sync_frequency "cron"'),
    ({"sync_frequency": "cron", "schedule": {"cron": "0 6 * * *", "timezone": "Berlin"}},
     "schedule.timezone", "unknown time zone 'Berlin'"),
    ({"schedule": {"cron": "0 6 * * *"}}, "schedule", "only a cron flow has a schedule"),
    ({"integration": uuid.UUID(int=7)}, "integration",
     "no integration 00000000-0000-0000-0000-000000000007"),
]


@pytest.mark.parametrize(("over", "field", "message"), INVALID,
                         ids=[field for _, field, _ in INVALID])
async def test_invalid_flows_are_refused_naming_the_field(
        services: Services, tenant, database_url: str, over: dict[str, Any], field: str,
        message: str) -> None:
    caller, _ = tenant
    integration = await _hubspot(services, caller)
    with pytest.raises(ValidationFailed) as raised:
        await create_data_flow(services, caller, _flow_with(integration, over))
    assert raised.value.details[0]["field"] == field
    assert message in raised.value.details[0]["message"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM data_flows").fetchone() == (0,)


async def test_a_bad_update_changes_nothing(services: Services, tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(await _hubspot(services, caller)))
    with pytest.raises(ValidationFailed) as raised:
        await update_data_flow(services, caller, flow.id, DataFlowUpdate(
            name="Renamed", transformation_rules={"firstName": [{"rule": "case"}]}))
    assert raised.value.details[0]["field"] == "transformation_rules.firstName[0].to"
    with pytest.raises(ValidationFailed, match=r"mappings\[0\].source: unknown field 'email'"):
        await update_data_flow(services, caller, flow.id, DataFlowUpdate(stream="deals"))
    assert (await get_data_flow(services, caller, flow.id)).model_dump() == flow.model_dump()
    with pytest.raises(ValidationError):
        DataFlowUpdate.model_validate({"name": None})


async def test_updates_keep_or_replace_the_mapping(services: Services, tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(await _hubspot(services, caller)))
    ruled = await update_data_flow(services, caller, flow.id, DataFlowUpdate(
        transformation_rules={"email": ["trim", {"rule": "email"}]}))
    assert ruled.mappings[0]["rules"] == [{"rule": "trim"}, {"rule": "email"}]
    assert ruled.source_fields == BRIEF["source_fields"]
    renamed = await update_data_flow(services, caller, flow.id, DataFlowUpdate(name="CRM"))
    assert renamed.mappings == ruled.mappings and renamed.name == "CRM"
    listed = await update_data_flow(services, caller, flow.id, DataFlowUpdate(mappings=[
        {"source": ["firstname", "lastname"], "target": "name", "rules": ["concat"]}]))
    assert listed.source_fields == [["firstname", "lastname"]]
    assert listed.target_fields == ["name"] and listed.transformation_rules == {}
    again = await update_data_flow(services, caller, flow.id, DataFlowUpdate(status="paused"))
    assert again.mappings == listed.mappings


async def test_get_shows_the_last_run(services: Services, tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(await _hubspot(services, caller)))
    async with services.db.transaction(caller.tenant_id) as session:
        run = SyncRun(tenant_id=caller.tenant_id, data_flow_id=flow.id, status="succeeded",
                      records_read=10, records_written=9, records_failed=1,
                      finished_at=datetime.now(UTC), summary={"pages": 1})
        session.add(run)
        await session.flush()
        row = await session.get(DataFlow, flow.id)
        assert row is not None
        row.last_run_id, row.last_run_at = run.id, run.finished_at
        row.records_processed, row.records_failed = 9, 1
    shown = await get_data_flow(services, caller, flow.id)
    assert shown.last_run is not None and shown.last_run.records_written == 9
    assert (shown.records_processed, shown.records_failed) == (9, 1)
    assert shown.last_run.summary == {"pages": 1} and shown.last_run_at is not None
    assert (await list_data_flows(services, caller))[0].last_run == shown.last_run


async def test_roles_and_tenancy(services: Services, tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(await _hubspot(services, caller)))
    viewer = Caller(tenant_id=caller.tenant_id, user_id=caller.user_id, role=Role.viewer,
                    email="v@acme.example")
    with pytest.raises(PermissionDenied):
        await delete_data_flow(services, viewer, flow.id)
    with pytest.raises(PermissionDenied):
        await flow_dry_run.test_mapping(services, viewer, flow.id,
                                        flow_dry_run.TestMappingRequest(records=[{}]))
    other, _ = await make_tenant(services, "globex")
    with pytest.raises(NotFound):
        await get_data_flow(services, other, flow.id)
    with pytest.raises(ValidationFailed, match="integration"):
        await create_data_flow(services, other, _flow(flow.integration))
    assert await list_data_flows(services, other) == []
    await delete_data_flow(services, caller, flow.id)
    with pytest.raises(NotFound):
        await get_data_flow(services, caller, flow.id)


def _counts(database_url: str) -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        return tuple(conn.execute(f"SELECT count(*), md5(string_agg(t::text, '')) FROM {table} t"
                                  ).fetchone() for table in
                     ("data_flows", "sync_runs", "synced_records", "dead_letters",
                      "audit_logs"))


async def test_test_mapping_on_live_records_writes_nothing(services: Services, tenant,
                                                           sandbox, database_url: str) -> None:
    caller, _ = tenant
    integration = await _hubspot(services, caller, sandbox.url)
    flow = await create_data_flow(services, caller, _flow(
        integration, transformation_rules={"email": [{"rule": "email"}],
                                           "lastName": [{"rule": "case", "to": "upper"}]}))
    before = _counts(database_url)
    report = await flow_dry_run.test_mapping(services, caller, flow.id,
                                             flow_dry_run.TestMappingRequest(limit=3))
    assert _counts(database_url) == before
    assert report.source == "live" and len(report.records) == 3
    first = report.records[0]
    assert first.after is not None
    assert first.after["email"] == first.before["properties"]["email"].lower()
    assert first.after["lastName"] == first.before["properties"]["lastname"].upper()
    assert report.mapped + report.failed == 3


async def test_test_mapping_on_given_records_shows_field_errors(services: Services,
                                                                tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(
        await _hubspot(services, caller), transformation_rules={
            "email": ["required", {"rule": "email"}],
            "firstName": [{"rule": "drop_if", "op": "equals", "value": "test"}]}))
    report = await flow_dry_run.test_mapping(services, caller, flow.id,
                                             flow_dry_run.TestMappingRequest(records=[
        {"properties": {"email": "A@B.io", "firstname": "Ada"}},
        {"properties": {"email": "nope", "firstname": "Bob"}},
        {"properties": {"email": "x@y.io", "firstname": "test"}}]))
    assert report.source == "given"
    assert [s.after for s in report.records] == [
        {"email": "a@b.io", "firstName": "Ada", "lastName": None},
        {"firstName": "Bob", "lastName": None}, None]
    assert report.records[1].errors[0].field == "email"
    assert report.records[1].errors[0].rule_index == 1
    assert (report.mapped, report.failed, report.dropped) == (1, 1, 1)


async def test_an_outbound_flow_is_tried_on_its_synced_records(services: Services,
                                                               tenant) -> None:
    caller, _ = tenant
    flow = await create_data_flow(services, caller, _flow(
        await _hubspot(services, caller), direction="outbound",
        source_fields=["contact.mail"], target_fields=["email"]))
    async with services.db.transaction(caller.tenant_id) as session:
        session.add(SyncedRecord(tenant_id=caller.tenant_id, data_flow_id=flow.id,
                                 external_id="1", data={"contact": {"mail": "a@b.io"}}))
    report = await flow_dry_run.test_mapping(services, caller, flow.id,
                                             flow_dry_run.TestMappingRequest())
    assert report.source == "synced"
    assert [s.after for s in report.records] == [{"email": "a@b.io"}]
