"""One page of mapped records into ``synced_records`` in one statement.

The upsert only touches a row whose content hash changed, and RETURNING names
the rows it wrote, so "unchanged" is counted by the database itself rather than
by reading every row back first.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import DeadLetter, SyncedRecord

EXTERNAL_ID_LENGTH = 200  # synced_records.external_id


@dataclass
class Row:
    external_id: str
    data: dict[str, Any]
    source_updated_at: datetime | None


@dataclass
class Rejected:
    external_id: str
    record: dict[str, Any]
    errors: list[dict[str, Any]]


def content_hash(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


async def upsert(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID,
                 rows: list[Row]) -> int:
    """Write the rows whose content changed; returns how many were written."""
    if not rows:
        return 0
    now = datetime.now(UTC)
    # one statement may not touch a row twice: a page that repeats an id keeps its last
    latest = {row.external_id: row for row in rows}
    values = [{"tenant_id": tenant_id, "data_flow_id": flow_id, "external_id": row.external_id,
               "data": row.data, "content_hash": content_hash(row.data),
               "source_updated_at": row.source_updated_at, "synced_at": now,
               "changed_at": now, "origin": "provider"} for row in latest.values()]
    statement = insert(SyncedRecord).values(values)
    fresh = statement.excluded
    changed = statement.on_conflict_do_update(
        index_elements=["tenant_id", "data_flow_id", "external_id"],
        set_={"data": fresh.data, "content_hash": fresh.content_hash,
              "source_updated_at": fresh.source_updated_at, "synced_at": fresh.synced_at,
              "changed_at": fresh.changed_at, "origin": fresh.origin, "deleted_at": None},
        # a record seen deleted that comes back unchanged is written too: undeleted
        where=SyncedRecord.content_hash.is_distinct_from(fresh.content_hash)
        | SyncedRecord.deleted_at.is_not(None),
    ).returning(SyncedRecord.id)
    written = (await session.execute(changed)).scalars().all()
    return len(written)


def dead_letter(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID,
                run_id: uuid.UUID, rejected: Rejected) -> None:
    session.add(DeadLetter(tenant_id=tenant_id, data_flow_id=flow_id, sync_run_id=run_id,
                           external_id=rejected.external_id[:EXTERNAL_ID_LENGTH],
                           record=rejected.record, errors=rejected.errors))
