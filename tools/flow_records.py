"""A flow's records as Connectus holds them: list, read, and change them here.

A change made here (by a person over REST, later by the agent or a workflow) is what an
outbound or both-ways flow writes to the provider on its next run: the record is marked
as Connectus's version (origin ``connectus``, ``local_changed_at`` now) and waits until
the provider has taken it. ``put_record`` creates the record or changes the fields it
gives (a field left out keeps its value; ``null`` clears one), and is idempotent: the
same values again change nothing and are not written anywhere.

Checked before anything is saved: the flow writes to the provider (an inbound flow's
records are the provider's to change); every field is one of the flow's own, named with
the closest one when not; a field the provider owns in a both-ways flow is not changed
here; a new record does not reuse another record's key at the provider (two records here
would then write to one there).
"""

from __future__ import annotations

import difflib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from connectors.registry import connector_spec
from jobs.mapping import parse_mappings
from jobs.sync.records import EXTERNAL_ID_LENGTH, content_hash
from jobs.sync.sides import Side, addressing, both_ways_sides, provider_field
from store.accounts import Caller
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import DataFlow, Role, SyncConflict, SyncedRecord
from store.queries import load_data_flow, load_integration
from tools.audit import audit
from tools.context import Services, require
from tools.fields import JsonObject

MAX_RECORDS = 200


class RecordWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: JsonObject = Field(min_length=1, description=(
        "the fields to set, by Connectus's names for them (an outbound flow's source "
        "fields, a both-ways flow's target fields); fields left out keep their value"))


class SyncedRecordPublic(BaseModel):
    external_id: str
    data: dict[str, Any]
    origin: str = Field(description="which side wrote the current version: provider or "
                                    "connectus")
    remote_id: str | None = Field(description="the provider's id for it, once known")
    waiting: bool = Field(description="a version of Connectus's the provider has not taken "
                                      "yet; the flow's next run writes it")
    refused: bool = Field(description="the provider refused this version (see the flow's "
                                      "dead letters); not sent again until it changes")
    conflict: uuid.UUID | None = Field(description="its open conflict, if any")
    changed_at: datetime
    local_changed_at: datetime | None
    pushed_at: datetime | None
    synced_at: datetime
    deleted_at: datetime | None


class PutResult(BaseModel):
    record: SyncedRecordPublic
    created: bool
    changed: bool = Field(description="false: it already held these values")


def record_public(row: SyncedRecord, conflict: uuid.UUID | None = None) -> SyncedRecordPublic:
    return SyncedRecordPublic(
        external_id=row.external_id, data=row.data, origin=row.origin, remote_id=row.remote_id,
        waiting=row.origin == "connectus" and row.content_hash != row.pushed_hash
        and row.deleted_at is None,
        refused=row.rejected_hash is not None and row.rejected_hash == row.content_hash,
        conflict=conflict, changed_at=row.changed_at, local_changed_at=row.local_changed_at,
        pushed_at=row.pushed_at, synced_at=row.synced_at, deleted_at=row.deleted_at)


def check_external_id(external_id: str) -> str:
    if not external_id.strip() or len(external_id) > EXTERNAL_ID_LENGTH \
            or not external_id.isprintable():
        raise ValidationFailed(f"must be 1 to {EXTERNAL_ID_LENGTH} printable characters",
                               field="external_id")
    return external_id


async def _open_conflicts(session: Any, flow_id: uuid.UUID,
                          external_ids: list[str]) -> dict[str, uuid.UUID]:
    if not external_ids:
        return {}
    rows = (await session.execute(select(SyncConflict.external_id, SyncConflict.id).where(
        SyncConflict.data_flow_id == flow_id, SyncConflict.status == "open",
        SyncConflict.external_id.in_(external_ids)))).all()
    return {external_id: conflict_id for external_id, conflict_id in rows}


async def list_records(services: Services, caller: Caller, flow_id: uuid.UUID, *,
                       waiting: bool | None = None, after: str | None = None,
                       limit: int = 50) -> list[SyncedRecordPublic]:
    """The flow's records by external id, ``limit`` from after ``after``; ``waiting``
    true: only those the provider has not taken yet."""
    query = (select(SyncedRecord).where(SyncedRecord.data_flow_id == flow_id)
             .order_by(SyncedRecord.external_id).limit(max(1, min(limit, MAX_RECORDS))))
    if after:
        query = query.where(SyncedRecord.external_id > after)
    if waiting is not None:
        pending = (SyncedRecord.origin == "connectus") & SyncedRecord.content_hash \
            .is_distinct_from(SyncedRecord.pushed_hash) & SyncedRecord.deleted_at.is_(None)
        query = query.where(pending if waiting else ~pending)
    async with services.db.session(caller.tenant_id) as session:
        await load_data_flow(session, flow_id)
        rows = list((await session.scalars(query)).all())
        conflicts = await _open_conflicts(session, flow_id, [r.external_id for r in rows])
    return [record_public(r, conflicts.get(r.external_id)) for r in rows]


async def get_record(services: Services, caller: Caller, flow_id: uuid.UUID,
                     external_id: str) -> SyncedRecordPublic:
    async with services.db.session(caller.tenant_id) as session:
        await load_data_flow(session, flow_id)
        row = await session.scalar(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow_id, SyncedRecord.external_id == external_id))
        if row is None:
            raise NotFound(f"data flow {flow_id} has no record {external_id!r}")
        conflicts = await _open_conflicts(session, flow_id, [external_id])
    return record_public(row, conflicts.get(external_id))


class _Fields:
    """A flow's own field names on Connectus's side, with what a change here may touch."""

    def __init__(self, flow: DataFlow, provider: str) -> None:
        parsed = parse_mappings(flow.mappings, source_fields=flow.source_fields,
                                target_fields=flow.target_fields,
                                rules=flow.transformation_rules)
        self.sides: list[Side] = []
        self.key_field: str | None = None  # ours, for the provider's upsert key
        spec = connector_spec(provider)
        stream = spec.stream(flow.stream or "") if spec is not None else None
        found = addressing(spec, stream) if spec is not None and stream is not None else None
        key = found.upsert_key if found is not None else None
        if flow.direction == "outbound":
            self.names = [p.split(".")[0] for m in parsed for p in m.sources]
            for m in parsed:
                if key and isinstance(m.source, str) and provider_field(m.target) == key:
                    self.key_field = m.source.split(".")[0]
        else:
            assert spec is not None and stream is not None
            self.sides = both_ways_sides(spec, stream, parsed, flow.field_owners)
            self.names = [side.local for side in self.sides]
            for side in self.sides:
                if key and side.path is not None and side.written_as == key:
                    self.key_field = side.local
        self.provider = provider

    def check(self, data: dict[str, Any]) -> None:
        owners = {side.local: side.owner for side in self.sides}
        for name in data:
            if name not in self.names:
                close = difflib.get_close_matches(name, self.names, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValidationFailed(f"is not one of this flow's fields{hint} (its fields: "
                                       f"{', '.join(dict.fromkeys(self.names))})",
                                       field=f"data.{name}")
            if owners.get(name) == "provider":
                raise ValidationFailed(f"is owned by {self.provider} in this flow, so it is "
                                       f"changed there, not here (field_owners)",
                                       field=f"data.{name}")
        if "\\u0000" in json.dumps(data):
            raise ValidationFailed("a value holds a NUL character, which cannot be stored",
                                   field="data")


async def put_record(services: Services, caller: Caller, flow_id: uuid.UUID,
                     external_id: str, body: RecordWrite) -> PutResult:
    """Create the record here or change the fields given; the flow's next run writes it
    to the provider."""
    require(caller, Role.member, "changing a flow's records")
    check_external_id(external_id)
    now = datetime.now(UTC)
    async with services.db.transaction(caller.tenant_id) as session:
        flow = await load_data_flow(session, flow_id)
        if flow.direction == "inbound":
            raise Conflict(f"data flow {flow.name!r} is inbound: its records come from the "
                           "provider and are changed there")
        _, provider = await load_integration(session, flow.integration_id)
        fields = _Fields(flow, provider)
        fields.check(body.data)
        row = await session.scalar(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow_id, SyncedRecord.external_id == external_id)
            .with_for_update())
        if row is not None and row.deleted_at is not None:
            raise Conflict(f"record {external_id!r} was deleted at {provider} on "
                           f"{row.deleted_at:%Y-%m-%d}; it is not written again")
        before = dict(row.data) if row is not None else {}
        after = {**before, **body.data}
        await _key_free(session, flow_id, external_id, fields.key_field, before, after)
        created = row is None
        if row is None:
            row = SyncedRecord(data_flow_id=flow_id, external_id=external_id, data={},
                               synced_at=now, changed_at=now)
            session.add(row)
        elif row.base is None and row.origin == "provider":
            # an inbound flow's copy (the flow went outbound or both ways since): it is the
            # provider's version, so it is what both sides agree on before this change
            row.base, row.pushed_hash = dict(before), row.content_hash
            row.remote_id = row.remote_id or row.external_id
        changed = created or after != before
        if changed:
            row.data, row.content_hash = after, content_hash(after)
            row.origin, row.changed_at, row.local_changed_at = "connectus", now, now
            await session.flush()
            audit(session, caller, "synced_record.put", "data_flow", flow_id,
                  external_id=external_id, fields=sorted(body.data), created=created)
        conflicts = await _open_conflicts(session, flow_id, [external_id])
        return PutResult(record=record_public(row, conflicts.get(external_id)),
                         created=created, changed=changed)


async def _key_free(session: Any, flow_id: uuid.UUID, external_id: str, key_field: str | None,
                    before: dict[str, Any], after: dict[str, Any]) -> None:
    """A record's key at the provider (the e-mail an upsert matches on) is its own: two
    records here with one key would keep overwriting one record there."""
    if key_field is None or after.get(key_field) in (None, "") \
            or after.get(key_field) == before.get(key_field):
        return
    value = after[key_field]
    other = await session.scalar(select(SyncedRecord.external_id).where(
        SyncedRecord.data_flow_id == flow_id, SyncedRecord.external_id != external_id,
        SyncedRecord.deleted_at.is_(None),
        func.lower(SyncedRecord.data[key_field].astext) == str(value).lower()).limit(1))
    if other is not None:
        raise Conflict(f"record {other!r} already has {key_field} {value!r}: the provider "
                       "would take both as one record", details=[
                           {"field": f"data.{key_field}", "existing": other}])
