"""One run of a both-ways flow: an inbound pass, then an outbound pass.

In first, so that what the provider changed is known before anything is written there:
a field changed on both sides is found and held as a conflict instead of being
overwritten, and the outbound pass writes only what changed here (``jobs.sync.merge``
decides, field by field). Connectus's own writes come back in the next run's inbound
pass as exactly what was written; they match what the provider was last known to hold
(``remote_base``) and are dropped, so nothing is written back: no update loops.

The inbound pass reads pages from the run's checkpoint like the inbound engine, and
commits each page with its merged rows, new and updated conflicts, dead letters, counts
and the next page's request; the last page moves the checkpoint to the outbound phase,
which is ``jobs.sync.outbound``'s pass with the changed fields as the shape. Counts of
each pass are kept in the checkpoint and end in the run's summary.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connector import Connector
from connectors.cursors import to_iso
from connectors.request import dig
from connectors.results import Page
from connectors.spec import Stream
from jobs.connecting import open_connector
from jobs.mapping import Mapper, parse_mappings, read_path
from jobs.sync import runs
from jobs.sync.engine import Batch, BatchHook, Engine
from jobs.sync.merge import Incoming, Local, Merged, fresh, merge
from jobs.sync.outbound import Changed, Pusher, finish, flow_mapper
from jobs.sync.records import (
    EXTERNAL_ID_LENGTH,
    Rejected,
    content_hash,
    dead_letter,
    parse_moment,
)
from jobs.sync.sides import Side, both_ways_sides, require_addressing
from store.db import Database
from store.errors import ValidationFailed
from store.models import DataFlow, Integration, SyncConflict, SyncedRecord, SyncRun

COUNTS = ("read", "written", "unchanged", "failed", "conflicts", "echoes")


def agreed_base(row: SyncedRecord) -> dict[str, Any] | None:
    """What both sides last agreed on. A row an inbound flow wrote (before the flow went
    both ways) is the provider's version, so it is agreed as it is."""
    if row.base is not None:
        return row.base
    return dict(row.data) if row.origin == "provider" else None


def _unstorable(key: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if len(key) > EXTERNAL_ID_LENGTH or "\x00" in key:
        return {"field": None, "rule": None,
                "message": f"the record's id does not fit ({len(key)} characters, at most "
                           f"{EXTERNAL_ID_LENGTH}, no NUL)"}
    if "\\u0000" in json.dumps(data):
        return {"field": None, "rule": None,
                "message": "a mapped value holds a NUL character, which cannot be stored"}
    return None


@dataclass
class InboundMerge:
    """The inbound pass: pages merged into Connectus's rows, a page a transaction."""

    db: Database
    run: SyncRun
    flow: DataFlow
    owner: str
    lease_s: float
    stream: Stream
    mapper: Mapper
    sides: tuple[Side, ...]
    check_lease: Callable[[], None]
    on_batch: BatchHook | None = None

    async def read(self, connector: Connector, point: dict[str, Any]) -> dict[str, Any]:
        point = {**point, "phase": "inbound",
                 "inbound": {**dict.fromkeys(COUNTS, 0), **point.get("inbound", {})}}
        pages = connector.pages(self.stream.name, since=self.run.cursor_before.get("since"),
                                resume=point.get("resume"))
        async for page in pages:
            point = await self._commit(page, point)
            self.check_lease()
        return {**point, "phase": "outbound"}

    def _incoming(self, page: Page) -> tuple[dict[str, Incoming], list[Rejected]]:
        found: dict[str, Incoming] = {}
        rejected: list[Rejected] = []
        pushable = [side.path for side in self.sides if side.pushable and side.path]
        for record in page.records:
            key = self.stream.key(record)
            out = self.mapper.apply(record)
            if out.errors:
                rejected.append(Rejected(key, record, [
                    {"field": e.field, "rule": e.rule_index, "message": e.message}
                    for e in out.errors]))
                continue
            if out.data is None:  # dropped on purpose by a rule
                continue
            wrong = _unstorable(key, out.data)
            if wrong is not None:
                rejected.append(Rejected(key, record, [wrong]))
                continue
            field_name = self.stream.cursor_field
            at = parse_moment(to_iso(dig(record, field_name))) if field_name else None
            found.pop(key, None)  # a page that repeats an id keeps its last
            found[key] = Incoming(out.data, {p: read_path(record, p) for p in pushable}, at)
        return found, rejected

    async def _commit(self, page: Page, point: dict[str, Any]) -> dict[str, Any]:
        incoming, rejected = self._incoming(page)
        counts = dict(point["inbound"])
        tally = dict.fromkeys(COUNTS, 0)
        tally["read"], tally["failed"] = len(page.records), len(rejected)
        async with self.db.transaction(self.run.tenant_id) as session:
            rows = await self._rows(session, list(incoming))
            conflicts = await _conflicts(session, self.flow.id,
                                         [row.external_id for row in rows.values()])
            taken_ids = {row.external_id for row in rows.values()}
            now = datetime.now(UTC)
            for key, one in incoming.items():
                row = rows.get(key)
                if row is None:
                    if key in taken_ids:  # a record made here under this provider's id
                        rejected.append(Rejected(key, {"id": key}, [{
                            "field": None, "rule": None, "message":
                            "a record made in Connectus holds this id as its own"}]))
                        tally["failed"] += 1
                        continue
                    self._insert(session, key, fresh(one), one, now)
                    tally["written"] += 1
                    continue
                conflict = conflicts.get(row.external_id)
                local = Local(row.data, agreed_base(row), row.remote_base, row.local_changed_at,
                              frozenset(conflict.fields) if conflict else frozenset())
                merged = merge(self.sides, self.flow.conflict_policy, local, one)
                changed = self._apply(row, key, merged, one, now)
                tally["written" if changed else "unchanged"] += 1
                if not merged.news and row.pushed_at is not None and one.at is not None \
                        and one.at >= row.pushed_at:
                    tally["echoes"] += 1  # our own write, read back
                tally["conflicts"] += self._conflict(session, row, conflict, merged, now)
            for bad in rejected:
                dead_letter(session, self.run.tenant_id, self.flow.id, self.run.id, bad)
            for name in COUNTS:
                counts[name] = counts.get(name, 0) + tally[name]
            cursor = max(filter(None, (point.get("cursor"), page.cursor)), default=None)
            point = {**point, "phase": "inbound" if page.resume else "outbound",
                     "cursor": cursor, "resume": page.resume, "inbound": counts}
            kept = await runs.save_checkpoint(
                session, self.run, self.owner, self.lease_s, read=tally["read"],
                written=tally["written"], unchanged=tally["unchanged"],
                failed=tally["failed"], checkpoint=point)
            if not kept:  # rolls the page back: the new owner writes it
                raise runs.LeaseLost(str(self.run.id))
        if self.on_batch is not None:
            done = self.on_batch(Batch(tally["read"], tally["written"], tally["unchanged"],
                                       tally["failed"], cursor))
            if done is not None:
                await done
        return point

    async def _rows(self, session: AsyncSession, keys: list[str]) -> dict[str, SyncedRecord]:
        """The page's records as Connectus holds them, locked (a person's change waits for
        this page): by the provider's id, else by an external id that is one."""
        if not keys:
            return {}
        found = (await session.scalars(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == self.flow.id,
            or_(SyncedRecord.remote_id.in_(keys), SyncedRecord.external_id.in_(keys)))
            .with_for_update())).all()
        wanted = set(keys)
        rows = {row.remote_id: row for row in found if row.remote_id in wanted}
        for row in found:
            if row.remote_id is None and row.external_id in wanted:
                rows.setdefault(row.external_id, row)
        return rows

    def _insert(self, session: AsyncSession, key: str, merged: Merged, one: Incoming,
                now: datetime) -> None:
        digest = content_hash(merged.data)
        session.add(SyncedRecord(
            tenant_id=self.run.tenant_id, data_flow_id=self.flow.id, external_id=key,
            remote_id=key, data=merged.data, base=merged.base, remote_base=merged.remote_base,
            content_hash=digest, pushed_hash=digest, origin="provider",
            source_updated_at=one.at, synced_at=now, changed_at=now))

    @staticmethod
    def _apply(row: SyncedRecord, key: str, merged: Merged, one: Incoming,
               now: datetime) -> bool:
        """Set the merge on the row, touching only what moved (an echo writes nothing);
        True when Connectus's data changed."""
        changed = merged.data != row.data
        touched = changed
        if changed:
            row.data, row.content_hash = merged.data, content_hash(merged.data)
            row.changed_at, row.source_updated_at = now, one.at
        if row.base is None or merged.base != row.base:
            row.base, row.pushed_hash = merged.base, content_hash(merged.base)
            touched = True
        if merged.remote_base != (row.remote_base or {}):
            row.remote_base, touched = merged.remote_base, True
        if row.remote_id is None:
            row.remote_id, touched = key, True
        if row.deleted_at is not None:  # the provider serves it again
            row.deleted_at, touched = None, True
        if row.content_hash != row.pushed_hash:
            row.origin = "connectus"  # a version of ours is still to be written out
        elif changed:
            row.origin = "provider"
        if touched:
            row.synced_at = now
        return changed

    def _conflict(self, session: AsyncSession, row: SyncedRecord,
                  conflict: SyncConflict | None, merged: Merged, now: datetime) -> int:
        """Open, update or close the record's conflict; 1 when a new one was opened."""
        if conflict is not None:
            if not merged.held:
                conflict.status, conflict.resolved_at = "resolved", now
                conflict.resolution = "both sides came to hold the same values"
            elif merged.conflicts or set(conflict.fields) != merged.held:
                def value(i: int, old: dict[str, Any]) -> dict[str, Any]:
                    return {f: merged.conflicts[f][i] if f in merged.conflicts else old.get(f)
                            for f in sorted(merged.held)}
                conflict.local = value(0, conflict.local)
                conflict.remote = value(1, conflict.remote)
                conflict.base = value(2, conflict.base)
                conflict.fields, conflict.updated_at = sorted(merged.held), now
            return 0
        if not merged.conflicts:
            return 0
        names = sorted(merged.conflicts)
        session.add(SyncConflict(
            tenant_id=self.run.tenant_id, data_flow_id=self.flow.id,
            external_id=row.external_id, fields=names, sync_run_id=self.run.id,
            local={f: merged.conflicts[f][0] for f in names},
            remote={f: merged.conflicts[f][1] for f in names},
            base={f: merged.conflicts[f][2] for f in names}))
        return 1


async def _conflicts(session: AsyncSession, flow_id: uuid.UUID,
                     external_ids: list[str]) -> dict[str, SyncConflict]:
    if not external_ids:
        return {}
    found = (await session.scalars(select(SyncConflict).where(
        SyncConflict.data_flow_id == flow_id, SyncConflict.status == "open",
        SyncConflict.external_id.in_(external_ids)).with_for_update())).all()
    return {c.external_id: c for c in found}


async def run_both_ways(engine: Engine, run: SyncRun, flow: DataFlow, integration: Integration,
                        provider: str) -> SyncRun:
    """Read the provider's changes in, then write Connectus's out, and finish."""
    if not flow.stream:
        raise ValidationFailed("the flow names no stream to sync", field="stream")
    mapper = flow_mapper(engine, flow)
    parsed = parse_mappings(flow.mappings, source_fields=flow.source_fields,
                            target_fields=flow.target_fields, rules=flow.transformation_rules)
    async with open_connector(engine.db, engine.vault, engine.redis, integration, provider,
                              allow_private=engine.allow_private,
                              attempts=engine.attempts) as connector, \
            runs.kept(engine.db, run, engine.owner, engine.lease_s) as check:
        stream = connector.spec.stream(flow.stream)
        sides = tuple(both_ways_sides(connector.spec, stream, parsed, flow.field_owners))
        point = dict(run.checkpoint or {})
        if point.get("phase", "inbound") == "inbound":
            point = await InboundMerge(engine.db, run, flow, engine.owner, engine.lease_s,
                                       stream, mapper, sides, check,
                                       engine.on_batch).read(connector, point)
        if any(side.pushable for side in sides):
            how = require_addressing(connector.spec, stream).filled(connector.context())
            point = await Pusher(engine.db, run, engine.owner, engine.lease_s, connector,
                                 how, Changed(sides), check, engine.on_batch).push(point)
    return await finish(engine.db, run, engine.owner, point)
