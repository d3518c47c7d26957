"""Outbound: Connectus's changed records to the provider's batch writes, within its limits.

A pass reads the flow's rows waiting to be written (a local version the provider has not
taken: ``content_hash`` differs from ``pushed_hash``), the provider's batch size at a time
in id order, turns each into the provider's record (a ``Shape``: the flow's mapping for
an outbound flow, the changed fields for a both-ways one) and sends each batch as one
call of a repeatable write: an update by the provider's id where Connectus knows it, else
an upsert by the write's key (HubSpot's e-mail, Salesforce's external-id field). A batch
sent twice (a worker killed after the provider took it, before the commit) sets the same
values on the same records again: nothing is ever created twice.

Each batch then commits in one transaction: the rows the provider took (their agreed
version, and the provider's id when it is new), the rows it refused (dead-lettered with
its words, and not sent again until they change: ``rejected_hash``), the run's counts
and the checkpoint. A run resumed after a crash starts after the last committed batch;
the rows a lost batch wrote are still waiting, and are written again, harmlessly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connector import Connector
from jobs.connecting import open_connector
from jobs.mapping import Mapper, compile_mappings, parse_mappings
from jobs.mapping.parse import FIELDS_ROOT
from jobs.mapping.salt import tenant_salt
from jobs.sync import runs
from jobs.sync.engine import Batch, BatchHook, Engine
from jobs.sync.merge import pending_fields
from jobs.sync.records import Rejected, content_hash, dead_letter
from jobs.sync.sides import Addressing, Side, require_addressing
from store.db import Database
from store.errors import ValidationFailed
from store.models import DataFlow, Integration, SyncConflict, SyncedRecord, SyncRun

COUNTS = ("read", "written", "unchanged", "failed", "batches")


@dataclass(frozen=True)
class Waiting:
    """A row waiting to be written, as it was read for this batch."""

    id: int
    external_id: str
    data: dict[str, Any]
    base: dict[str, Any] | None
    remote_id: str | None
    content_hash: str | None
    held: frozenset[str] = frozenset()  # fields in an open conflict: not written


@dataclass
class Send:
    row: Waiting
    record: dict[str, Any]  # in the provider's field names
    agreed: dict[str, Any]  # Connectus's values both sides hold once the provider takes it
    sent: dict[str, Any] = field(default_factory=dict)  # the provider's values, by read path


@dataclass(frozen=True)
class Refuse:
    row: Waiting
    errors: list[dict[str, Any]]
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class Agree:
    """Nothing to send: the provider already holds these values (or a rule left the
    record out on purpose)."""

    row: Waiting
    agreed: dict[str, Any]


class Shape(Protocol):
    """How a waiting row becomes the provider's record; None: nothing to do now."""

    def shape(self, row: Waiting) -> Send | Refuse | Agree | None: ...

    def key_value(self, row: Waiting, name: str) -> Any:
        """The row's value for the provider field ``name`` (an upsert's key)."""


def _put(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    here = record
    for part in parents:
        here = here.setdefault(part, {})
    here[last] = value


def _refusal(message: str, name: str | None = None) -> list[dict[str, Any]]:
    return [{"field": name, "rule": None, "message": message}]


@dataclass(frozen=True)
class Mapped:
    """An outbound flow: the whole record through the flow's mapping, rules and all.
    Connectus is the source, so the provider's record is set to all of it each time."""

    mapper: Mapper

    def shape(self, row: Waiting) -> Send | Refuse | Agree | None:
        out = self.mapper.apply(row.data)
        if out.errors:
            return Refuse(row, [{"field": e.field, "rule": e.rule_index, "message": e.message}
                                for e in out.errors])
        if out.data is None:  # drop_if: not sent, and not looked at again until it changes
            return Agree(row, dict(row.data))
        record = dict(out.data)
        nested = record.pop(FIELDS_ROOT, None)  # properties.email is written as email
        if isinstance(nested, dict):
            record.update(nested)
        return Send(row, record, dict(row.data))

    def key_value(self, row: Waiting, name: str) -> Any:
        return None  # the mapped record already holds every field the flow writes


@dataclass(frozen=True)
class Changed:
    """A both-ways flow: only the fields Connectus changed since both last agreed, each
    written as it is to the provider field its mapping reads."""

    sides: tuple[Side, ...]

    def shape(self, row: Waiting) -> Send | Refuse | Agree | None:
        changed = pending_fields(self.sides, row.data, row.base, row.held)
        agreed = {k: v for k, v in row.data.items() if k not in row.held}
        if not changed:
            return None if row.held else Agree(row, agreed)
        record: dict[str, Any] = {}
        for side in changed:
            _put(record, side.written_as, row.data.get(side.local))
        return Send(row, record, agreed,
                    {side.path: row.data.get(side.local) for side in changed if side.path})

    def key_value(self, row: Waiting, name: str) -> Any:
        for side in self.sides:
            if side.path is not None and side.written_as == name:
                return row.data.get(side.local)
        return None


@dataclass
class Pusher:
    """One outbound pass of a run."""

    db: Database
    run: SyncRun
    owner: str
    lease_s: float
    connector: Connector
    addressing: Addressing
    shape: Shape
    check_lease: Callable[[], None]  # runs.kept's check: raises once the lease is lost
    on_batch: BatchHook | None = None

    async def push(self, point: dict[str, Any]) -> dict[str, Any]:
        point = {**point, "phase": "outbound",
                 "outbound": {**dict.fromkeys(COUNTS, 0), **point.get("outbound", {})}}
        while True:
            rows = await self._waiting(int(point.get("after") or 0))
            if not rows:
                return point
            point = await self._batch(rows, point)
            self.check_lease()

    async def _waiting(self, after: int) -> list[Waiting]:
        size = self.addressing.batch_size
        async with self.db.session(self.run.tenant_id) as session:
            rows = (await session.execute(
                select(SyncedRecord.id, SyncedRecord.external_id, SyncedRecord.data,
                       SyncedRecord.base, SyncedRecord.remote_id, SyncedRecord.content_hash)
                .where(SyncedRecord.data_flow_id == self.run.data_flow_id,
                       SyncedRecord.origin == "connectus",
                       SyncedRecord.content_hash.is_distinct_from(SyncedRecord.pushed_hash),
                       SyncedRecord.content_hash.is_distinct_from(SyncedRecord.rejected_hash),
                       SyncedRecord.deleted_at.is_(None), SyncedRecord.id > after)
                .order_by(SyncedRecord.id).limit(size))).all()
            held = await open_conflicts(session, self.run.data_flow_id, [r[1] for r in rows])
        return [Waiting(row_id, external_id, data, base, remote_id, digest,
                        held.get(external_id, frozenset()))
                for row_id, external_id, data, base, remote_id, digest in rows]

    def _address(self, send: Send) -> str | Refuse:
        """Which write takes the record, its key set; or why none can."""
        how, record = self.addressing, send.record
        if send.row.remote_id and how.update is not None and how.update_key:
            record[how.update_key] = send.row.remote_id
            return "update"
        if how.upsert is not None and how.upsert_key:
            if record.get(how.upsert_key) in (None, ""):
                found = self.shape.key_value(send.row, how.upsert_key)
                if found in (None, ""):
                    return Refuse(send.row, _refusal(
                        f"{how.provider} finds {how.stream} records by {how.upsert_key!r}, "
                        "and this one has none", how.upsert_key), record)
                record[how.upsert_key] = found
            return "upsert"
        if how.update is not None and how.update_key and record.get(how.update_key):
            return "update"
        return Refuse(send.row, _refusal(
            f"{how.provider} can only update {how.stream} records it already holds, and "
            f"Connectus does not know this one's {how.update_key!r} there"), record)

    async def _batch(self, rows: list[Waiting], point: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)  # to the millisecond, as providers stamp their changes
        started = now.replace(microsecond=now.microsecond // 1000 * 1000)
        groups: dict[str, list[Send]] = {"update": [], "upsert": []}
        refused: list[Refuse] = []
        agreed: list[Agree] = []
        for row in rows:
            shaped = self.shape.shape(row)
            if isinstance(shaped, Send):
                kind = self._address(shaped)
                if isinstance(kind, Refuse):
                    refused.append(kind)
                else:
                    groups[kind].append(shaped)
            elif isinstance(shaped, Refuse):
                refused.append(shaped)
            elif isinstance(shaped, Agree):
                agreed.append(shaped)
        taken: list[tuple[Send, str | None]] = []
        calls = 0
        for kind, group in groups.items():
            if not group:
                continue
            write = self.addressing.update if kind == "update" else self.addressing.upsert
            assert write is not None
            result = await self.connector.write(write.name, [s.record for s in group])
            calls += 1
            told = bool(result.written or result.refused)
            for index, send in enumerate(group):
                if index in result.written:
                    taken.append((send, result.written[index] or None))
                elif index in result.refused:
                    refused.append(Refuse(send.row, _refusal(result.refused[index]),
                                          send.record))
                elif not told and result.failed == 0:  # a provider that says only "all done"
                    taken.append((send, None))
                else:
                    refused.append(Refuse(send.row, _refusal(
                        f"{self.addressing.provider} did not say whether it took this record"),
                        send.record))
        async with self.db.transaction(self.run.tenant_id) as session:
            clashes = await self._record(session, rows, taken, agreed, started)
            refused += clashes
            for refusal in refused:
                await _refuse(session, self.run, refusal)
            written = len(taken) - len(clashes)
            unchanged = len(rows) - written - len(refused)
            counts = dict(point["outbound"])
            for name, value in (("read", len(rows)), ("written", written),
                                ("unchanged", unchanged), ("failed", len(refused)),
                                ("batches", calls)):
                counts[name] = counts.get(name, 0) + value
            point = {**point, "after": rows[-1].id, "outbound": counts}
            kept = await runs.save_checkpoint(
                session, self.run, self.owner, self.lease_s, read=len(rows), written=written,
                unchanged=unchanged, failed=len(refused), checkpoint=point)
            if not kept:  # rolls the batch back: the new owner writes it again
                raise runs.LeaseLost(str(self.run.id))
        if self.on_batch is not None:
            done = self.on_batch(Batch(len(rows), written, unchanged, len(refused),
                                       point.get("cursor")))
            if done is not None:
                await done
        return point

    async def _record(self, session: AsyncSession, rows: list[Waiting],
                      taken: list[tuple[Send, str | None]], agreed: list[Agree],
                      started: datetime) -> list[Refuse]:
        """What the provider now holds, on the rows as they are now (a person may have
        changed one meanwhile: their newer version stays waiting). Returns the rows whose
        new provider id another row of the flow already holds."""
        current = {row.id: row for row in (await session.scalars(
            select(SyncedRecord).where(SyncedRecord.id.in_([r.id for r in rows]))
            .with_for_update())).all()}
        fresh = {rid for send, rid in taken
                 if rid and current.get(send.row.id) is not None
                 and current[send.row.id].remote_id is None}
        holders = await _holders(session, self.run.data_flow_id, fresh, exclude=current)
        clashes = []
        for send, rid in taken:
            row = current.get(send.row.id)
            if row is None:  # deleted meanwhile
                continue
            row.base = {**(row.base or {}), **send.agreed}
            row.pushed_hash = content_hash(row.base)
            if send.sent:
                row.remote_base = {**(row.remote_base or {}), **send.sent}
            row.pushed_at, row.rejected_hash = started, None
            if rid and row.remote_id is None:
                if rid in holders:
                    clashes.append(Refuse(send.row, _refusal(
                        f"{self.addressing.provider} wrote this to its {self.addressing.stream} "
                        f"record {rid}, which Connectus already holds as {holders[rid]!r}: "
                        "they are one record there; delete one of them here")))
                else:
                    row.remote_id = rid
        for agree in agreed:
            row = current.get(agree.row.id)
            if row is not None:
                row.base = {**(row.base or {}), **agree.agreed}
                row.pushed_hash = content_hash(row.base)
        return clashes


async def _holders(session: AsyncSession, flow_id: uuid.UUID, ids: set[str],
                   exclude: dict[int, Any]) -> dict[str, str]:
    """Of the provider ids just learned, those another row of the flow already stands
    for: {provider id: that row's external id}."""
    if not ids:
        return {}
    rows = (await session.execute(
        select(SyncedRecord.remote_id, SyncedRecord.external_id)
        .where(SyncedRecord.data_flow_id == flow_id, SyncedRecord.id.not_in(list(exclude)),
               or_(SyncedRecord.remote_id.in_(ids), SyncedRecord.external_id.in_(ids))))).all()
    found: dict[str, str] = {}
    for remote_id, external_id in rows:
        found[remote_id if remote_id in ids else external_id] = external_id
    return found


async def _refuse(session: AsyncSession, run: SyncRun, refusal: Refuse) -> None:
    """Dead-letter a record the provider (or the mapping) refused, and leave the version
    it refused alone until it changes."""
    row = await session.get(SyncedRecord, refusal.row.id)
    if row is not None and row.content_hash == refusal.row.content_hash:
        row.rejected_hash = refusal.row.content_hash
    dead_letter(session, run.tenant_id, run.data_flow_id, run.id, Rejected(
        refusal.row.external_id, {"data": refusal.row.data, "sent": refusal.record},
        refusal.errors))


async def open_conflicts(session: AsyncSession, flow_id: uuid.UUID,
                         external_ids: list[str]) -> dict[str, frozenset[str]]:
    """The fields held by an open conflict, per record."""
    if not external_ids:
        return {}
    rows = (await session.execute(
        select(SyncConflict.external_id, SyncConflict.fields)
        .where(SyncConflict.data_flow_id == flow_id, SyncConflict.status == "open",
               SyncConflict.external_id.in_(external_ids)))).all()
    return {external_id: frozenset(fields) for external_id, fields in rows}


# -- the run of an outbound flow ---------------------------------------------------------


def flow_mapper(engine: Engine, flow: DataFlow) -> Mapper:
    return compile_mappings(parse_mappings(
        flow.mappings, source_fields=flow.source_fields, target_fields=flow.target_fields,
        rules=flow.transformation_rules), salt=tenant_salt(engine.vault, flow.tenant_id))


async def run_outbound(engine: Engine, run: SyncRun, flow: DataFlow, integration: Integration,
                       provider: str) -> SyncRun:
    """Write every waiting record of the flow, from the run's checkpoint, and finish."""
    if not flow.stream:
        raise ValidationFailed("the flow names no stream to write", field="stream")
    mapper = flow_mapper(engine, flow)
    async with open_connector(engine.db, engine.vault, engine.redis, integration, provider,
                              allow_private=engine.allow_private,
                              attempts=engine.attempts) as connector, \
            runs.kept(engine.db, run, engine.owner, engine.lease_s) as check:
        stream = connector.spec.stream(flow.stream)
        how = require_addressing(connector.spec, stream).filled(connector.context())
        point = await Pusher(engine.db, run, engine.owner, engine.lease_s, connector, how,
                             Mapped(mapper), check, engine.on_batch).push(
            dict(run.checkpoint or {}))
    return await finish(engine.db, run, engine.owner, point)


async def finish(db: Database, run: SyncRun, owner: str, point: dict[str, Any]) -> SyncRun:
    """End the run; its summary keeps each pass's counts (``point``: the last checkpoint,
    with the counts of passes that had nothing to commit)."""
    current = await runs.load(db, run.tenant_id, run.id)
    summary: dict[str, Any] = {name: point[name] for name in ("inbound", "outbound")
                               if name in point}
    status = "partial" if current.records_failed else "succeeded"
    return await runs.finish(db, current, owner, status=status, summary=summary)
