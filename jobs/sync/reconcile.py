"""Reconciliation against the provider's own totals (issue 7 §7): backfill only the drift.

A flow's reconciliation runs on its own schedule (``contract.reconcile``: hourly, daily
by default, weekly or off) as an upkeep run with trigger ``reconcile`` holding the flow's
lock (jobs/sync/upkeep.py), for streams whose provider counts them (``Stream.total``:
HubSpot search ``total``, Mailchimp ``total_items``, Salesforce ``SELECT COUNT()``).

1. **Count.** One call for the provider's total, against what we account for: our live
   (not deleted) synced records, plus the records held back in open dead letters, plus
   those the mapping drops on purpose (as the last reconciliation counted them). Equal:
   done, at the cost of one call.
2. **Find.** On any drift, an id-only scan (``Stream.id_scan``) names exactly which ids
   we lack and which we hold that the provider no longer has. The scan must reach its
   end (and, while we hold records, see at least one id); otherwise nothing is changed.
3. **Backfill.** Only the missing records are read, by id where the provider has a batch
   read (``Stream.by_ids``: HubSpot ``batch/read``, Salesforce sObject Collections), else
   by re-reading the stream and keeping those ids alone (Mailchimp); each is mapped with
   the flow's current mapping and upserted (or dead-lettered) batch by batch, under the
   run's lease. Nothing else is rewritten.
4. **Vanished** ids (held by us, gone at the provider, by a scan that finished) are marked
   deleted, as a deletion check would, in the transaction that ends the run.

The run's summary says what it found and did: ``provider_total``, ``ours``, ``drift``,
``missing`` (with the first ids), ``backfilled``, ``dead_lettered``, ``dropped``,
``not_found`` (gone between scan and read), ``vanished`` and ``method``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connector import Connector
from connectors.http import Attempts
from connectors.spec import Stream
from jobs.connecting import open_connector
from jobs.mapping import Mapper
from jobs.sync import runs, upkeep
from jobs.sync.contracts import CHECK_FREQUENCIES, contract_of
from jobs.sync.deletions import live_ids, mark_deleted, scan_all
from jobs.sync.engine import _map_page
from jobs.sync.records import dead_letter, upsert
from store.crypto import SecretBox
from store.db import Database
from store.errors import classify_failure
from store.models import DataFlow, DeadLetter, SyncedRecord, SyncRun

TRIGGER = "reconcile"
CATEGORY = "sync_reconcile"
SHOWN_IDS = 100


def can_reconcile(stream: Stream) -> bool:
    return stream.total is not None and stream.id_scan is not None


def every(flow: DataFlow) -> timedelta | None:
    return CHECK_FREQUENCIES[contract_of(flow.contract).reconcile]


async def _accounted(session: AsyncSession, flow_id: uuid.UUID) -> tuple[int, int, int]:
    """(live synced records, open dead-lettered ids we do not hold, dropped by the
    mapping as the last successful reconciliation counted them)."""
    live = int(await session.scalar(select(func.count()).select_from(SyncedRecord).where(
        SyncedRecord.data_flow_id == flow_id, SyncedRecord.deleted_at.is_(None))) or 0)
    held = select(SyncedRecord.external_id).where(SyncedRecord.data_flow_id == flow_id,
                                                  SyncedRecord.deleted_at.is_(None))
    lettered = int(await session.scalar(
        select(func.count(func.distinct(DeadLetter.external_id))).where(
            DeadLetter.data_flow_id == flow_id, DeadLetter.status == "open",
            DeadLetter.external_id.notin_(held))) or 0)
    last = await session.scalar(
        select(SyncRun.summary).where(SyncRun.data_flow_id == flow_id,
                                      SyncRun.trigger == TRIGGER,
                                      SyncRun.status == "succeeded")
        .order_by(SyncRun.started_at.desc()).limit(1))
    dropped = int((last or {}).get("dropped_total", 0) or 0)
    return live, lettered, dropped


async def _lettered_ids(session: AsyncSession, flow_id: uuid.UUID) -> set[str]:
    return set((await session.scalars(select(DeadLetter.external_id).where(
        DeadLetter.data_flow_id == flow_id, DeadLetter.status == "open"))).all())


async def reconcile(db: Database, vault: SecretBox, redis: Redis, tenant_id: uuid.UUID,
                    flow_id: uuid.UUID, *, owner: str, lease_s: float,
                    allow_private: bool = False,
                    attempts: Attempts | None = None) -> SyncRun | None:
    """One reconciliation of the flow; None when the flow is busy (a sync holds it)."""
    run = await upkeep.start(db, tenant_id, flow_id, owner=owner, lease_s=lease_s,
                             trigger=TRIGGER)
    if run is None:
        return None
    try:
        return await _reconcile(db, vault, redis, run, owner, lease_s, allow_private,
                                attempts)
    except Exception as exc:  # classed and recorded; bugs go on below
        ended = await upkeep.fail(db, run, owner, exc, category=CATEGORY)
        if classify_failure(exc).kind == "system" and not isinstance(exc, runs.LeaseLost):
            raise
        return ended


async def _reconcile(db: Database, vault: SecretBox, redis: Redis, run: SyncRun, owner: str,
                     lease_s: float, allow_private: bool,
                     attempts: Attempts | None) -> SyncRun:
    found = await upkeep.setup(db, run)
    stream = found.stream
    if not can_reconcile(stream):
        return await upkeep.finish(db, run, owner, summary={
            "method": None, "reason": f"{found.provider} gives no total (or no id scan) for "
                                      f"{stream.name}: nothing to reconcile against"})
    mapper = upkeep.mapper_for(found.flow, vault)
    async with upkeep.Lease(db, run, owner, lease_s) as lease, \
            open_connector(db, vault, redis, found.integration, found.provider,
                           allow_private=allow_private, attempts=attempts) as connector:
        total = await connector.total(stream.name)
        async with db.session(run.tenant_id) as session:
            live, lettered, dropped_before = await _accounted(session, run.data_flow_id)
        drift = total - live - lettered
        summary: dict[str, Any] = {"provider_total": total, "ours": live,
                                   "open_dead_letters": lettered, "drift": drift}
        if drift == 0 or drift == dropped_before:
            return await upkeep.finish(db, run, owner, summary={
                **summary, "method": None, "dropped_total": dropped_before if drift else 0})
        async with db.session(run.tenant_id) as session:  # before the scan starts
            known = await live_ids(session, run.data_flow_id)
            lettered_ids = await _lettered_ids(session, run.data_flow_id)
        theirs = await scan_all(connector, stream, known, lease)
        missing = sorted(theirs - known - lettered_ids)
        vanished = known - theirs
        summary.update({"scanned_ids": len(theirs), "missing": len(missing),
                        "missing_ids": missing[:SHOWN_IDS], "vanished": len(vanished),
                        "vanished_ids": sorted(vanished)[:SHOWN_IDS]})
        done = await _backfill(db, run, owner, lease_s, connector, stream, mapper,
                               set(missing), lease)
        summary.update(done)
        # what the mapping dropped stays "missing" for good: counted, so the next count
        # check is not fooled into a scan by it
        summary["dropped_total"] = done["dropped"]
        now = datetime.now(UTC)
        async with db.transaction(run.tenant_id) as session:
            marked = await mark_deleted(session, run.data_flow_id,
                                        {external_id: now for external_id in vanished})
            return await upkeep.end(session, run, owner, status="succeeded", summary=summary,
                                    records_deleted=marked)


async def _backfill(db: Database, run: SyncRun, owner: str, lease_s: float,
                    connector: Connector, stream: Stream, mapper: Mapper, missing: set[str],
                    lease: upkeep.Lease) -> dict[str, Any]:
    counts: dict[str, Any] = {"backfilled": 0, "unchanged": 0, "dead_lettered": 0,
                              "dropped": 0, "not_found": 0, "method": None}
    if not missing:
        return counts
    left = set(missing)
    if stream.by_ids is not None:
        counts["method"] = "batch_read"
        batches = connector.read_ids(stream.name, sorted(missing))
    else:
        counts["method"] = "re_read"
        batches = (page.records async for page in connector.pages(stream.name))
    async for records in batches:
        lease.check()
        wanted = [r for r in records if stream.key(r) in left]
        if wanted:
            left -= {stream.key(r) for r in wanted}
            await _commit(db, run, owner, lease_s, stream, mapper, wanted, counts)
        if not left:
            break
    counts["not_found"] = len(left)
    return counts


async def _commit(db: Database, run: SyncRun, owner: str, lease_s: float, stream: Stream,
                  mapper: Mapper, records: list[dict[str, Any]],
                  counts: dict[str, Any]) -> None:
    rows, rejected = _map_page(stream, mapper, records)
    async with db.transaction(run.tenant_id) as session:
        written = await upsert(session, run.tenant_id, run.data_flow_id, rows)
        for bad in rejected:
            dead_letter(session, run.tenant_id, run.data_flow_id, run.id, bad)
        kept = await runs.save_checkpoint(
            session, run, owner, lease_s, read=len(records), written=written,
            unchanged=len(rows) - written, failed=len(rejected),
            checkpoint={"phase": "backfill"})
        if not kept:
            raise runs.LeaseLost(str(run.id))
    counts["backfilled"] += written
    counts["unchanged"] += len(rows) - written
    counts["dead_lettered"] += len(rejected)
    counts["dropped"] += len(records) - len(rows) - len(rejected)
