"""A flow's dead letters, and replaying them after a mapping fix.

``replay_failed_records`` maps each open dead letter's stored record again with the
flow's *current* mapping (jobs/sync/replay.py): those that pass go into the flow's
synced records and are marked replayed, those that still fail stay open with their new
errors. It takes the flow's lock like a sync, so it answers 409 while the flow syncs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from jobs.constants import SYNC_LEASE_S
from jobs.sync.engine import new_owner
from jobs.sync.replay import MAX_REPLAY, replay
from store.accounts import Caller
from store.errors import Conflict
from store.models import DeadLetter, Role
from store.queries import load_data_flow
from tools import paging
from tools.audit import audit
from tools.context import Services, require

MAX_LETTERS = 500
LetterStatus = Literal["open", "replayed", "discarded"]

__all__ = ["DeadLetterPublic", "ReplayRequest", "ReplayResult", "list_dead_letters",
           "replay_failed_records"]


class DeadLetterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    data_flow: uuid.UUID = Field(validation_alias="data_flow_id")
    sync_run: uuid.UUID | None = Field(validation_alias="sync_run_id")
    external_id: str
    record: dict[str, Any] = Field(description="the record as the provider sent it")
    errors: list[Any] = Field(description='why it failed: [{"field", "rule", "message"}]')
    status: str
    created_at: datetime
    replayed_at: datetime | None


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(MAX_REPLAY, ge=1, le=MAX_REPLAY,
                       description="replay at most this many open letters, oldest first")


class ReplayResult(BaseModel):
    data_flow: uuid.UUID
    run_id: uuid.UUID | None = Field(description="the replay's run (trigger 'replay')")
    attempted: int
    replayed: int = Field(description="now map: upserted into the synced records (or "
                                      "superseded by a newer version already held)")
    written: int = Field(description="synced records written")
    still_failing: int = Field(description="still fail: left open with their new errors")
    dropped: int = Field(description="the current mapping drops them: discarded")
    superseded: int = Field(description="a newer version of the record is held already")
    remaining: int = Field(description="open letters past the limit, not tried")


async def list_dead_letters(services: Services, caller: Caller, flow_id: uuid.UUID,
                            status: LetterStatus | None = None,
                            limit: int = 100) -> list[DeadLetterPublic]:
    """The flow's dead letters, newest first, optionally of one status."""
    return (await dead_letters_page(services, caller, flow_id, status, limit)).items


async def dead_letters_page(services: Services, caller: Caller, flow_id: uuid.UUID,
                            status: LetterStatus | None = None, limit: int = 100,
                            cursor: str | None = None) -> paging.Page[DeadLetterPublic]:
    limit = max(1, min(limit, MAX_LETTERS))
    query = select(DeadLetter).where(DeadLetter.data_flow_id == flow_id)
    if status:
        query = query.where(DeadLetter.status == status)
    query = paging.keyset(query, DeadLetter.created_at, DeadLetter.id, cursor, limit,
                          most=MAX_LETTERS)
    async with services.db.session(caller.tenant_id) as session:
        await load_data_flow(session, flow_id)
        rows = list((await session.scalars(query)).all())
    return paging.Page[DeadLetterPublic](
        items=[DeadLetterPublic.model_validate(row) for row in rows[:limit]],
        next_cursor=paging.next_cursor(rows, limit))


async def replay_failed_records(services: Services, caller: Caller, flow_id: uuid.UUID,
                                body: ReplayRequest | None = None) -> ReplayResult:
    """Re-map the flow's open dead letters with its current mapping; answer the counts."""
    require(caller, Role.member, "replaying failed records")
    async with services.db.session(caller.tenant_id) as session:
        flow = await load_data_flow(session, flow_id)
    done = await replay(services.db, services.vault, caller.tenant_id, flow_id,
                        owner=new_owner(), lease_s=SYNC_LEASE_S,
                        limit=(body or ReplayRequest()).limit)
    if done is None:
        raise Conflict(f"data flow {flow.name!r} is syncing (or being checked) right now; "
                       "replay once that run ends")
    async with services.db.transaction(caller.tenant_id) as session:
        audit(session, caller, "data_flow.replay_failed_records", "data_flow", flow_id,
              run=str(done.run_id), replayed=done.replayed, still_failing=done.still_failing)
    return ReplayResult(data_flow=flow_id, **{"run_id": done.run_id, **done.as_summary()})
