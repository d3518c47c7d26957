"""Deletion checks (issue 7 §5): which synced records the provider no longer has, found
cheaply, and marked ``synced_records.deleted_at`` (never removed).

A flow's check runs on its own schedule (``contract.deletion_check``: hourly, daily by
default, weekly or off; see jobs/sync/contracts.py) as an upkeep run with trigger
``deletions``, holding the flow's lock (jobs/sync/upkeep.py): it never overlaps a sync.

How, per stream:

- **the provider's own deleted or archived list** (``Stream.deletions``: HubSpot
  ``archived=true``, Salesforce ``queryAll ... IsDeleted = true``, Mailchimp
  ``status=archived``) since the last successful check (or, before any, the flow's first
  sync), when that moment is within what the provider keeps (``Deletions.kept_days``);
- otherwise **an id-only scan** (``Stream.id_scan``): every id the provider holds, against
  the ids we hold live, taken before the scan starts.

Deletions that only a scan can see (a Mailchimp permanent delete, a HubSpot GDPR delete)
also surface in reconciliation (jobs/sync/reconcile.py), whose count check scans ids on
any drift.

**A check that could not finish deletes nothing.** Every mark is made in one transaction
at the very end, together with the run's ending and under its lease: a scan that raised
``ScanIncomplete``, any error mid-read, or a lease lost (another hand ended the run)
leaves every record as it was. A scan that reached its end but saw no ids at all while we
hold some is refused as well: an emptied list is far likelier a wrong setting or a lost
permission than every record deleted at once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import DateTime, String, column, func, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connector import Connector
from connectors.errors import ScanIncomplete
from connectors.http import Attempts
from connectors.spec import Stream
from jobs.connecting import open_connector
from jobs.sync import runs, upkeep
from jobs.sync.contracts import CHECK_FREQUENCIES, SUCCEEDED, contract_of
from jobs.sync.records import parse_moment
from store.crypto import SecretBox
from store.db import Database
from store.errors import ValidationFailed, classify_failure
from store.models import DataFlow, SyncedRecord, SyncRun

TRIGGER = "deletions"
CATEGORY = "sync_deletions"
OVERLAP = timedelta(minutes=5)  # a check reads deletions from a little before the last one
CHUNK = 5000  # ids per UPDATE statement, well inside PostgreSQL's bind-parameter limit


def can_check(stream: Stream) -> bool:
    return stream.deletions is not None or stream.id_scan is not None


def every(flow: DataFlow) -> timedelta | None:
    return CHECK_FREQUENCIES[contract_of(flow.contract).deletion_check]


async def live_ids(session: AsyncSession, flow_id: uuid.UUID) -> set[str]:
    return set((await session.scalars(select(SyncedRecord.external_id).where(
        SyncedRecord.data_flow_id == flow_id, SyncedRecord.deleted_at.is_(None)))).all())


async def mark_deleted(session: AsyncSession, flow_id: uuid.UUID,
                       gone: dict[str, datetime]) -> int:
    """Set ``deleted_at`` on the flow's live records among ``gone`` (id -> when); returns
    how many it marked."""
    marked = 0
    items = list(gone.items())
    for start in range(0, len(items), CHUNK):
        chunk = values(column("external_id", String), column("at", DateTime(timezone=True)),
                       name="gone").data(items[start:start + CHUNK])
        done = await session.scalars(
            update(SyncedRecord)
            .where(SyncedRecord.data_flow_id == flow_id,
                   SyncedRecord.external_id == chunk.c.external_id,
                   SyncedRecord.deleted_at.is_(None))
            .values(deleted_at=chunk.c.at)
            .returning(SyncedRecord.id).execution_options(synchronize_session=False))
        marked += len(done.all())
    return marked


async def _since(session: AsyncSession, flow_id: uuid.UUID) -> datetime | None:
    """From when to ask for deletions: the last successful check, else the flow's first
    sync (nothing deleted before it was ever read); None before any sync."""
    last_check: datetime | None = await session.scalar(select(func.max(SyncRun.started_at)).where(
        SyncRun.data_flow_id == flow_id, SyncRun.trigger == TRIGGER,
        SyncRun.status.in_(SUCCEEDED)))
    if last_check is not None:
        return last_check - OVERLAP
    first: datetime | None = await session.scalar(select(func.min(SyncRun.started_at)).where(
        SyncRun.data_flow_id == flow_id, SyncRun.trigger.notin_(runs.UPKEEP)))
    return first - OVERLAP if first is not None else None


def choose(stream: Stream, since: datetime, now: datetime) -> str:
    """'provider' (its deleted list) or 'id_scan'."""
    kept = stream.deletions.kept_days if stream.deletions is not None else None
    if stream.deletions is not None and (kept is None or since >= now - timedelta(days=kept)):
        return "provider"
    if stream.id_scan is not None:
        return "id_scan"
    if stream.deletions is not None:  # older than it keeps, but all there is
        return "provider"
    raise ValidationFailed(f"the {stream.name} stream offers no way to find deletions "
                           "(no deleted list, no id scan)", field="stream")


async def _from_provider(connector: Connector, stream: Stream, since: datetime,
                         lease: upkeep.Lease) -> tuple[dict[str, datetime], int]:
    found: dict[str, datetime] = {}
    listed = 0
    async for page in connector.deleted_since(stream.name, since.isoformat()):
        lease.check()
        listed += len(page)
        now = datetime.now(UTC)
        for gone in page:
            found[gone.id] = parse_moment(gone.at) or now
    lease.check()
    return found, listed


async def scan_all(connector: Connector, stream: Stream, known: set[str] | frozenset[str],
                   lease: upkeep.Lease) -> set[str]:
    """Every id the provider holds, from a scan that reached its end; raises
    ``ScanIncomplete`` otherwise, and for a finished scan that saw no ids at all while we
    hold some (``known``)."""
    seen: set[str] = set()
    complete = False
    async for page in connector.scan_ids(stream.name):
        lease.check()
        seen.update(page.ids)
        complete = page.complete
    lease.check()
    if not complete:
        raise ScanIncomplete(f"the {connector.spec.name} {stream.name} id scan did not reach "
                             "the end of the list", provider=connector.spec.name)
    if not seen and known:
        raise ScanIncomplete(
            f"the {connector.spec.name} {stream.name} id scan saw no ids at all while the "
            f"flow holds {len(known)} records: refusing to mark them all deleted (check the "
            "integration's settings and permissions)", provider=connector.spec.name)
    return seen


async def _from_scan(connector: Connector, stream: Stream, known: set[str],
                     lease: upkeep.Lease) -> tuple[dict[str, datetime], int]:
    seen = await scan_all(connector, stream, known, lease)
    now = datetime.now(UTC)
    return {external_id: now for external_id in known - seen}, len(seen)


async def check_deletions(db: Database, vault: SecretBox, redis: Redis, tenant_id: uuid.UUID,
                          flow_id: uuid.UUID, *, owner: str, lease_s: float,
                          allow_private: bool = False,
                          attempts: Attempts | None = None) -> SyncRun | None:
    """One deletion check of the flow; None when the flow is busy (a sync holds it).
    A failure ends the run failed with nothing marked, and a bug propagates after that."""
    run = await upkeep.start(db, tenant_id, flow_id, owner=owner, lease_s=lease_s,
                             trigger=TRIGGER)
    if run is None:
        return None
    try:
        return await _check(db, vault, redis, run, owner, lease_s, allow_private, attempts)
    except Exception as exc:  # classed and recorded; bugs go on below
        ended = await upkeep.fail(db, run, owner, exc, category=CATEGORY)
        if classify_failure(exc).kind == "system" and not isinstance(exc, runs.LeaseLost):
            raise
        return ended


async def _check(db: Database, vault: SecretBox, redis: Redis, run: SyncRun, owner: str,
                 lease_s: float, allow_private: bool, attempts: Attempts | None) -> SyncRun:
    found = await upkeep.setup(db, run)
    stream = found.stream
    async with db.session(run.tenant_id) as session:
        since = await _since(session, run.data_flow_id)
        known = await live_ids(session, run.data_flow_id)
    if since is None or not known:
        return await upkeep.finish(db, run, owner, summary={
            "method": None, "reason": "nothing synced yet, so nothing to check"})
    method = choose(stream, since, datetime.now(UTC))
    async with upkeep.Lease(db, run, owner, lease_s) as lease, \
            open_connector(db, vault, redis, found.integration, found.provider,
                           allow_private=allow_private, attempts=attempts) as connector:
        if method == "provider":
            gone, read = await _from_provider(connector, stream, since, lease)
        else:
            gone, read = await _from_scan(connector, stream, known, lease)
        gone = {k: v for k, v in gone.items() if k in known}
        summary: dict[str, Any] = {"method": method, "since": since.isoformat(),
                                   "held": len(known), "read": read, "gone": len(gone),
                                   "ids": sorted(gone)[:100]}
        async with db.transaction(run.tenant_id) as session:  # all of it, or nothing
            marked = await mark_deleted(session, run.data_flow_id, gone)
            return await upkeep.end(session, run, owner, status="succeeded",
                                    summary=summary, records_read=read,
                                    records_deleted=marked)
