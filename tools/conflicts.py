"""Conflicts of both-ways flows: fields both sides changed differently since they last
agreed, kept with both versions until a person says which one stays (in chat the agent
offers the choice and calls ``resolve_conflict`` on the person's word).

Settling one applies the kept version where it lost: "remote" sets the provider's values
in Connectus's record at once; "local" keeps Connectus's and queues a run of the flow,
whose outbound pass writes them to the provider. Either way the rest of the record has
synced all along: only the conflicting fields were held.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from jobs.sync.both_ways import agreed_base
from jobs.sync.jobs import enqueue
from jobs.sync.merge import settle
from jobs.sync.records import content_hash
from jobs.sync.runs import open_run
from store.accounts import Caller
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import Role, SyncConflict, SyncedRecord
from store.queries import load_data_flow
from tools.audit import audit
from tools.context import Services, require
from tools.flow_records import SyncedRecordPublic, record_public

MAX_CONFLICTS = 200
Keep = Literal["local", "remote"]


class ConflictPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    data_flow: uuid.UUID = Field(validation_alias="data_flow_id")
    external_id: str
    fields: list[str] = Field(description="Connectus's names of the fields in conflict")
    local: dict[str, Any] = Field(description="each field's value in Connectus")
    remote: dict[str, Any] = Field(description="each field's value at the provider")
    base: dict[str, Any] = Field(description="each field's value when both last agreed")
    status: str
    sync_run: uuid.UUID | None = Field(validation_alias="sync_run_id",
                                       description="the run that found it")
    created_at: datetime
    updated_at: datetime | None = Field(description="when a run last saw new versions")
    resolved_at: datetime | None
    resolution: str | None


class ResolveConflict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep: Keep = Field(description="local: Connectus's values, written to the provider; "
                                   "remote: the provider's, taken into Connectus")


class Resolution(BaseModel):
    conflict: ConflictPublic
    record: SyncedRecordPublic
    queued_run: uuid.UUID | None = Field(description=(
        "the flow's run that writes the kept values to the provider, when they must go "
        "there"))


async def list_conflicts(services: Services, caller: Caller, data_flow: uuid.UUID | None = None,
                         status: str | None = None, limit: int = 50) -> list[ConflictPublic]:
    """The newest first, of one flow or all the tenant's; ``status``: open or resolved."""
    query = select(SyncConflict).order_by(SyncConflict.created_at.desc()).limit(
        max(1, min(limit, MAX_CONFLICTS)))
    if data_flow is not None:
        query = query.where(SyncConflict.data_flow_id == data_flow)
    if status:
        query = query.where(SyncConflict.status == status)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.scalars(query)).all()
    return [ConflictPublic.model_validate(row) for row in rows]


async def get_conflict(services: Services, caller: Caller,
                       conflict: uuid.UUID) -> ConflictPublic:
    async with services.db.session(caller.tenant_id) as session:
        row = await session.get(SyncConflict, conflict)
    if row is None:
        raise NotFound(f"no conflict {conflict}")
    return ConflictPublic.model_validate(row)


async def resolve_conflict(services: Services, caller: Caller, conflict: uuid.UUID,
                           keep: str) -> Resolution:
    """Settle a conflict: keep Connectus's values ("local") or the provider's ("remote")."""
    require(caller, Role.member, "settling a sync conflict")
    if keep not in ("local", "remote"):
        raise ValidationFailed(f"must be 'local' or 'remote'; got {keep!r}", field="keep")
    now = datetime.now(UTC)
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(select(SyncConflict).where(SyncConflict.id == conflict)
                                     .with_for_update())
        if found is None:
            raise NotFound(f"no conflict {conflict}")
        if found.status != "open":
            raise Conflict(f"conflict {conflict} was settled already: {found.resolution}")
        flow = await load_data_flow(session, found.data_flow_id)
        row = await session.scalar(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow.id,
            SyncedRecord.external_id == found.external_id).with_for_update())
        if row is None:
            raise NotFound(f"data flow {flow.id} no longer has record {found.external_id!r}")
        data, base = settle(keep, found.fields, row.data, agreed_base(row), found.remote)
        if data != row.data:
            row.data, row.content_hash, row.changed_at = data, content_hash(data), now
        row.base, row.pushed_hash = base, content_hash(base)
        waiting = row.content_hash != row.pushed_hash
        if waiting:
            row.origin, row.rejected_hash = "connectus", None
        elif keep == "remote":
            row.origin = "provider"
        found.status, found.resolved_at = "resolved", now
        found.resolution = f"kept {keep} ({caller.email})"
        audit(session, caller, "conflict.resolve", "sync_conflict", found.id, keep=keep,
              data_flow=str(flow.id), external_id=found.external_id, fields=found.fields)
        await session.flush()
        settled = ConflictPublic.model_validate(found)
        record = record_public(row)
    queued = None
    if waiting and services.queue is not None:
        run, _ = await open_run(services.db, caller.tenant_id, flow.id, trigger="manual")
        if run.status == "queued":
            await enqueue(services.queue, flow.id, run.id)
        queued = run.id
    return Resolution(conflict=settled, record=record, queued_run=queued)
