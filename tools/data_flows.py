"""Configuring data flows: list, create, get, update, delete.

Everything a flow says is checked on save, in the transaction that saves it: the
integration, the stream on its provider's connector, every source field against
the stream's fields (with the closest real one), every rule's parameters and the
cron schedule, each error naming its position. A flow stores the mapping as given
(``source_fields``/``target_fields``/``transformation_rules``) and as parsed
(``mappings``), which is what the sync engine reads. Flows that write to the provider
are checked for that too (``jobs.sync.sides``): an outbound flow's targets are fields a
write may set and one says which record is meant; a both-ways flow stores every field's
owner, defaults included.
"""

from __future__ import annotations

import difflib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.registry import connector_spec
from connectors.spec import Stream
from jobs.flow_schedule import check_schedule
from jobs.mapping import FieldMapping, parse_mappings
from jobs.sync.contracts import check_contract
from jobs.sync.flow_status import status_reasons
from jobs.sync.realtime import check_realtime
from jobs.sync.schedule import first_slot
from jobs.sync.sides import both_ways_sides, check_outbound, effective_owners
from store.accounts import Caller
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import DataFlow, Role, SyncRun
from store.queries import last_runs, load_data_flow, load_integration
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.fields import JsonObject, Name, PartialUpdate
from tools.syncs import SyncRunPublic

Direction = Literal["inbound", "outbound", "bidirectional"]
Frequency = Literal["realtime", "hourly", "daily", "weekly", "manual", "cron"]
FlowStatus = Literal["active", "paused", "error"]
ConflictPolicy = Literal["owner", "newest_wins"]
Owner = Literal["provider", "connectus", "both"]
FieldNames = Annotated[list[str], Field(max_length=500)]
FieldOwners = Annotated[dict[str, Owner], Field(max_length=500, description=(
    "both-ways flows: Connectus field -> who may change it: provider (flows in only), "
    "connectus (flows out only) or both (the default where the field can be written "
    "back; a change on both sides is settled by conflict_policy)"))]
POLICY_HELP = ("both-ways flows: what settles a field both sides changed. owner: it is "
               "listed as a conflict for a person (GET /integrations/conflicts/); "
               "newest_wins: the later change wins")
MAPPING_KEYS = ("source_fields", "target_fields", "transformation_rules", "mappings")


class DataFlowCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: uuid.UUID
    name: Name
    direction: Direction = "inbound"
    stream: str = Field(min_length=1, max_length=100, description="e.g. contacts")
    source_fields: FieldNames = Field(default_factory=list)
    target_fields: FieldNames = Field(default_factory=list)
    transformation_rules: JsonObject = Field(default_factory=dict, description=(
        "target field -> list of rules, with source_fields/target_fields"))
    mappings: Annotated[list[dict[str, Any]], Field(max_length=500)] = Field(
        default_factory=list, description='[{"source": "email", "target": "email", '
        '"rules": [{"rule": "trim"}]}]; instead of source_fields/target_fields')
    sync_frequency: Frequency = "daily"
    schedule: JsonObject = Field(default_factory=dict, description=(
        '{"cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"} when sync_frequency is cron'))
    contract: JsonObject = Field(default_factory=dict, description=(
        '{"max_staleness": "6h", "min_records": 1000, "deletion_check": "daily", '
        '"reconcile": "daily"}: what a healthy flow looks like, all optional'))
    status: FlowStatus = "active"
    field_owners: FieldOwners = Field(default_factory=dict)
    conflict_policy: ConflictPolicy = Field("owner", description=POLICY_HELP)


class DataFlowUpdate(PartialUpdate):
    """Giving ``mappings``, or any of ``source_fields``/``target_fields``/
    ``transformation_rules``, replaces the mapping (the flat fields not given are kept)."""

    name: Name | MISSING = MISSING
    direction: Direction | MISSING = MISSING
    stream: Annotated[str, Field(min_length=1, max_length=100)] | MISSING = MISSING
    source_fields: FieldNames | MISSING = MISSING
    target_fields: FieldNames | MISSING = MISSING
    transformation_rules: JsonObject | MISSING = MISSING
    mappings: Annotated[list[dict[str, Any]], Field(max_length=500)] | MISSING = MISSING
    sync_frequency: Frequency | MISSING = MISSING
    schedule: JsonObject | MISSING = MISSING
    contract: JsonObject | MISSING = MISSING
    status: FlowStatus | MISSING = MISSING
    field_owners: FieldOwners | MISSING = Field(MISSING, description=(
        "changes the owners it names; the others are kept"))
    conflict_policy: ConflictPolicy | MISSING = MISSING


class DataFlowPublic(BaseModel):
    id: uuid.UUID
    integration: uuid.UUID
    name: str
    direction: str
    stream: str | None
    status: str
    status_reason: str | None = Field(description=(
        "why the flow is in error: the failure of the run that stopped it, and what to do; "
        "once that is fixed, set status back to active to put it on its schedule again"))
    source_fields: list[Any]
    target_fields: list[Any]
    transformation_rules: dict[str, Any]
    mappings: list[Any]
    sync_frequency: str
    schedule: dict[str, Any]
    contract: dict[str, Any]
    field_owners: dict[str, str] = Field(description=(
        "both-ways flows: every field's owner, defaults included"))
    conflict_policy: str
    next_run_at: datetime | None
    records_processed: int
    records_failed: int
    last_run_at: datetime | None
    last_run: SyncRunPublic | None
    created_at: datetime
    updated_at: datetime


def to_public(row: DataFlow, run: SyncRun | None = None,
              reason: str | None = None) -> DataFlowPublic:
    return DataFlowPublic(
        id=row.id, integration=row.integration_id, name=row.name, direction=row.direction,
        stream=row.stream, status=row.status,
        status_reason=reason if row.status == "error" else None,
        source_fields=row.source_fields,
        target_fields=row.target_fields, transformation_rules=row.transformation_rules,
        mappings=row.mappings, sync_frequency=row.sync_frequency, schedule=row.schedule,
        contract=row.contract, field_owners=row.field_owners,
        conflict_policy=row.conflict_policy, next_run_at=row.next_run_at,
        records_processed=row.records_processed, records_failed=row.records_failed,
        last_run_at=row.last_run_at,
        last_run=SyncRunPublic.model_validate(run) if run else None,
        created_at=row.created_at, updated_at=row.updated_at)


def stream_of(provider: str, name: str) -> Stream:
    """The stream on the provider's connector, or an error naming the closest one."""
    spec = connector_spec(provider)
    if spec is None:
        raise ValidationFailed(f"{provider} has no connector yet", field="integration")
    try:
        return spec.stream(name)
    except KeyError:
        known = [s.name for s in spec.streams]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValidationFailed(f"{provider} has no stream {name!r}; {hint}(streams: "
                               f"{', '.join(known) or 'none'})", field="stream") from None


def known_fields(stream: Stream, direction: str) -> set[str] | None:
    """The names a source path may start with; None where they cannot be checked (an
    outbound flow reads Connectus's own records, and some streams list no fields)."""
    if direction == "outbound" or not stream.fields:
        return None
    extra = {stream.primary_key.split(",")[0].split(".")[0], "id"}
    if stream.cursor_field:
        extra.add(stream.cursor_field.split(".")[0])
    return {*stream.fields, *extra}


def check_direction(provider: str, stream: Stream, config: dict[str, Any],
                    parsed: list[FieldMapping], kept: dict[str, Any]) -> dict[str, str]:
    """What writing to the provider needs (``jobs.sync.sides``); the owners to store: for
    a both-ways flow every field's, defaults included, else none."""
    spec = connector_spec(provider)
    assert spec is not None  # stream_of found the stream on it
    owners = config.get("field_owners") or {}
    if config["direction"] == "outbound":
        check_outbound(spec, stream, parsed)
    if config["direction"] != "bidirectional":
        if owners:
            raise ValidationFailed("only both-ways flows give their fields owners",
                                   field="field_owners")
        return {}
    return effective_owners(both_ways_sides(spec, stream, parsed, owners, kept=kept))


def check_mapping(config: dict[str, Any], known: set[str] | None) -> list[FieldMapping]:
    if config["mappings"] and (config["source_fields"] or config["target_fields"]
                               or config["transformation_rules"]):
        raise ValidationFailed("give either mappings or source_fields/target_fields (with "
                               "transformation_rules), not both", field="mappings")
    return parse_mappings(config["mappings"], source_fields=config["source_fields"],
                          target_fields=config["target_fields"],
                          rules=config["transformation_rules"], known_fields=known)


async def _configure(services: Services, caller: Caller, row: DataFlow,
                     config: dict[str, Any], mapping: dict[str, Any] | None) -> None:
    """Check the whole configuration and set it on ``row``; raises before any change.
    ``mapping`` None keeps the stored one, checked again (the stream may have changed)."""
    async with services.db.session(caller.tenant_id) as session:
        try:
            _, provider = await load_integration(session, config["integration_id"])
        except NotFound as missing:
            raise ValidationFailed(missing.message, field="integration") from None
    stream = stream_of(provider, config["stream"])
    known = known_fields(stream, config["direction"])
    parsed = (parse_mappings(row.mappings, known_fields=known) if mapping is None
              else check_mapping(mapping, known))
    config["field_owners"] = check_direction(provider, stream, config, parsed,
                                             kept=row.field_owners or {})
    schedule = check_schedule(config["sync_frequency"], config["schedule"])
    if config["sync_frequency"] == "realtime" and (
            row.sync_frequency, row.stream, row.direction) != (
            "realtime", config["stream"], config["direction"]):  # not on every save
        check_realtime(provider, stream.name, config["direction"])
    timing = (row.sync_frequency, row.schedule, row.status)
    contract = check_contract(config["contract"])
    for name, value in config.items():
        setattr(row, name, value)
    row.schedule, row.contract = schedule, contract
    row.mappings = [m.to_json() for m in parsed]
    if mapping is not None:
        row.source_fields, row.target_fields = mapping["source_fields"], mapping["target_fields"]
        row.transformation_rules = mapping["transformation_rules"]
        if mapping["mappings"]:  # the brief's lists, shown for a mappings list too
            row.source_fields = [list(m.source) if isinstance(m.source, tuple) else m.source
                                 for m in parsed]
            row.target_fields = [m.target for m in parsed]
    # a new flow, or a new frequency, schedule or status, starts from now; any other change
    # keeps the slot it had
    if (row.sync_frequency, row.schedule, row.status) != timing or (
            row.status == "active" and row.next_run_at is None):
        row.id = row.id or uuid.uuid4()  # the jitter is the flow's own
        row.next_run_at = first_slot(row)


async def _save(session: Any, row: DataFlow) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a data flow named {row.name!r} already exists") from None


async def list_data_flows(services: Services, caller: Caller,
                          integration: uuid.UUID | None = None,
                          status: str | None = None) -> list[DataFlowPublic]:
    """The tenant's data flows, optionally one integration's or one status."""
    query = _flows(integration, status).order_by(DataFlow.created_at)
    async with services.db.session(caller.tenant_id) as session:
        return await _publics(session, list((await session.scalars(query)).all()))


async def data_flows_page(services: Services, caller: Caller,
                          integration: uuid.UUID | None = None, status: str | None = None,
                          cursor: str | None = None,
                          limit: int = paging.DEFAULT_LIMIT) -> paging.Page[DataFlowPublic]:
    """One page of them, oldest first, as REST lists them."""
    query = paging.keyset(_flows(integration, status), DataFlow.created_at, DataFlow.id,
                          cursor, limit, oldest_first=True)
    async with services.db.session(caller.tenant_id) as session:
        rows = list((await session.scalars(query)).all())
        items = await _publics(session, rows[:limit])
    return paging.Page[DataFlowPublic](items=items,
                                       next_cursor=paging.next_cursor(rows, limit))


def _flows(integration: uuid.UUID | None, status: str | None) -> Select[Any]:
    query = select(DataFlow)
    if integration is not None:
        query = query.where(DataFlow.integration_id == integration)
    if status:
        query = query.where(DataFlow.status == status)
    return query


async def _publics(session: AsyncSession, rows: list[DataFlow]) -> list[DataFlowPublic]:
    runs = await last_runs(session, rows)
    reasons = await status_reasons(session, rows)
    return [to_public(row, runs.get(row.last_run_id) if row.last_run_id else None,
                      reasons.get(row.id)) for row in rows]


async def get_data_flow(services: Services, caller: Caller,
                        flow_id: uuid.UUID) -> DataFlowPublic:
    async with services.db.session(caller.tenant_id) as session:
        row = await load_data_flow(session, flow_id)
        runs = await last_runs(session, [row])
        reasons = await status_reasons(session, [row])
    return to_public(row, runs.get(row.last_run_id) if row.last_run_id else None,
                     reasons.get(row.id))


async def create_data_flow(services: Services, caller: Caller,
                           data: DataFlowCreate) -> DataFlowPublic:
    require(caller, Role.admin, "creating a data flow")
    config = data.model_dump(exclude={"integration", *MAPPING_KEYS})
    config["integration_id"] = data.integration
    row = DataFlow(tenant_id=caller.tenant_id)
    await _configure(services, caller, row, config, data.model_dump(include=set(MAPPING_KEYS)))
    async with services.db.transaction(caller.tenant_id) as session:
        await load_integration(session, data.integration)  # still there, in this transaction
        session.add(row)
        await _save(session, row)
        audit(session, caller, "data_flow.create", "data_flow", row.id, name=row.name,
              integration=str(row.integration_id), stream=row.stream)
        await session.refresh(row)
        return to_public(row)


async def update_data_flow(services: Services, caller: Caller, flow_id: uuid.UUID,
                           data: DataFlowUpdate) -> DataFlowPublic:
    require(caller, Role.admin, "changing a data flow")
    changed = data.model_dump(exclude_unset=True)
    async with services.db.transaction(caller.tenant_id) as session:
        row = await load_data_flow(session, flow_id)
        frequency = changed.get("sync_frequency", row.sync_frequency)
        config = {"integration_id": row.integration_id, "name": row.name,
                  "direction": row.direction, "stream": row.stream or "",
                  "sync_frequency": frequency, "status": row.status,
                  "contract": row.contract, "conflict_policy": row.conflict_policy,
                  "schedule": row.schedule if frequency == "cron" else {},
                  **{k: v for k, v in changed.items() if k not in MAPPING_KEYS}}
        await _configure(services, caller, row, config, _mapping_after(row, changed))
        await _save(session, row)
        audit(session, caller, "data_flow.update", "data_flow", row.id, changed=sorted(changed))
        await session.refresh(row)
        runs = await last_runs(session, [row])
        reasons = await status_reasons(session, [row])
        return to_public(row, runs.get(row.last_run_id) if row.last_run_id else None,
                         reasons.get(row.id))


def _mapping_after(row: DataFlow, changed: dict[str, Any]) -> dict[str, Any] | None:
    """The mapping a PATCH gives: a mappings list as given, or the flat fields with the
    stored ones it leaves out; None when it gives none."""
    if not any(key in changed for key in MAPPING_KEYS):
        return None
    if "mappings" in changed:
        return {"source_fields": [], "target_fields": [], "transformation_rules": {},
                **{k: v for k, v in changed.items() if k in MAPPING_KEYS}}
    return {"source_fields": changed.get("source_fields", row.source_fields),
            "target_fields": changed.get("target_fields", row.target_fields),
            "transformation_rules": changed.get("transformation_rules",
                                                row.transformation_rules),
            "mappings": []}


async def delete_data_flow(services: Services, caller: Caller, flow_id: uuid.UUID) -> None:
    """The flow and, with it, its runs and synced records."""
    require(caller, Role.admin, "deleting a data flow")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await load_data_flow(session, flow_id)
        audit(session, caller, "data_flow.delete", "data_flow", row.id, name=row.name)
        await session.delete(row)
