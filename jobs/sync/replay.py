"""Replaying dead letters after a mapping fix (issue 7 §7).

Each open dead letter keeps the provider's record as it was read. A replay maps it again
with the flow's *current* mapping, as an upkeep run with trigger ``replay`` holding the
flow's lock (jobs/sync/upkeep.py), so it never races a sync:

- a record that now maps is upserted into ``synced_records`` and its letter marked
  ``replayed``;
- one that still fails stays ``open`` with its new errors (the reason it fails now);
- one the mapping now drops on purpose (a drop_if rule) is marked ``discarded``;
- a letter whose record we already hold in a version at least as new (a later sync read
  it and it mapped), or an older letter of an id that has a newer one, is ``replayed``
  without writing: replaying it would put older data over newer.

The letters, the records and the run's ending commit in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from jobs.sync import upkeep
from jobs.sync.engine import _map_page
from jobs.sync.records import Row, as_moment, upsert
from store.crypto import SecretBox
from store.db import Database
from store.errors import ValidationFailed
from store.models import DeadLetter, SyncedRecord, SyncRun
from store.queries import load_data_flow

TRIGGER = "replay"
MAX_REPLAY = 5000


@dataclass
class Replayed:
    run_id: uuid.UUID | None
    attempted: int = 0
    replayed: int = 0
    written: int = 0
    still_failing: int = 0
    dropped: int = 0
    superseded: int = 0
    remaining: int = 0  # open letters left untried (past the limit)

    def as_summary(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "run_id"}


async def replay(db: Database, vault: SecretBox, tenant_id: uuid.UUID, flow_id: uuid.UUID, *,
                 owner: str, lease_s: float, limit: int = MAX_REPLAY) -> Replayed | None:
    """Replay up to ``limit`` of the flow's open dead letters, oldest first; None when the
    flow is busy (a sync or another upkeep run holds it)."""
    async with db.session(tenant_id) as session:
        flow = await load_data_flow(session, flow_id)
    if flow.direction == "outbound":  # its letters are local records the provider refused
        raise ValidationFailed("an outbound flow's dead letters are retried by its own "
                               "dispatch, not replayed into synced records", field="direction")
    run = await upkeep.start(db, tenant_id, flow_id, owner=owner, lease_s=lease_s,
                             trigger=TRIGGER)
    if run is None:
        return None
    try:
        return await _replay(db, vault, run, owner, limit)
    except Exception as exc:
        await upkeep.fail(db, run, owner, exc, category="sync_replay")
        raise


async def _replay(db: Database, vault: SecretBox, run: SyncRun, owner: str,
                  limit: int) -> Replayed:
    found = await upkeep.setup(db, run)
    stream, mapper = found.stream, upkeep.mapper_for(found.flow, vault)
    result = Replayed(run.id)
    now = datetime.now(UTC)
    async with db.transaction(run.tenant_id) as session:
        letters = list((await session.scalars(
            select(DeadLetter).where(DeadLetter.data_flow_id == run.data_flow_id,
                                     DeadLetter.status == "open")
            .order_by(DeadLetter.created_at, DeadLetter.id).limit(limit)
            .with_for_update())).all())
        result.attempted = len(letters)
        result.remaining = int(await session.scalar(
            select(func.count()).select_from(DeadLetter).where(
                DeadLetter.data_flow_id == run.data_flow_id,
                DeadLetter.status == "open")) or 0) - len(letters)
        newest: dict[str, DeadLetter] = {}
        for letter in letters:  # oldest first: the last one per id is the newest
            if letter.external_id in newest:
                _supersede(newest[letter.external_id], now, result)
            newest[letter.external_id] = letter
        held = dict((await session.execute(
            select(SyncedRecord.external_id, SyncedRecord.source_updated_at).where(
                SyncedRecord.data_flow_id == run.data_flow_id,
                SyncedRecord.deleted_at.is_(None),
                SyncedRecord.external_id.in_(list(newest))))).all()) if newest else {}
        rows: list[Row] = []
        for letter in newest.values():
            mapped, rejected = _map_page(stream, mapper, [letter.record])
            if rejected:
                letter.errors = rejected[0].errors
                result.still_failing += 1
            elif not mapped:
                letter.status, letter.replayed_at = "discarded", now
                letter.errors = [{"field": None, "rule": None,
                                  "message": "dropped by the flow's current mapping"}]
                result.dropped += 1
            elif _newer_held(held, mapped[0]):
                _supersede(letter, now, result)
            else:
                rows.append(mapped[0])
                letter.status, letter.replayed_at = "replayed", now
                result.replayed += 1
        result.written = await upsert(session, run.tenant_id, run.data_flow_id, rows)
        await upkeep.end(session, run, owner, status="succeeded",
                         summary=result.as_summary(), records_read=result.attempted,
                         records_written=result.written,
                         records_unchanged=len(rows) - result.written,
                         records_failed=result.still_failing)
    return result


def _newer_held(held: dict[str, datetime | None], row: Row) -> bool:
    if row.external_id not in held:
        return False
    ours, theirs = held[row.external_id], as_moment(row.source_updated_at)
    return ours is not None and theirs is not None and ours >= theirs


def _supersede(letter: DeadLetter, now: datetime, result: Replayed) -> None:
    letter.status, letter.replayed_at = "replayed", now
    letter.errors = [*letter.errors, {"field": None, "rule": None,
                                      "message": "superseded by a newer version of the "
                                                 "record, not written"}]
    result.superseded += 1
