"""One page of mapped records into ``synced_records`` in one statement.

The upsert only touches a row whose content hash changed, and RETURNING names
the rows it wrote, so "unchanged" is counted by the database itself rather than
by reading every row back first.

The page travels as one JSON array (``json_to_recordset``) in one constant statement,
compiled once per process: a multi-row VALUES would bind nine parameters a row and be
compiled anew for every page, which cost more than everything else a page does, and
arrays of JSON text are escaped character by character on the way. Each row's JSON is
encoded once, for its hash and its storage alike; its source time goes as ISO text for
PostgreSQL to read.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text, bindparam, cast, column, func, literal, select
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import DeadLetter, SyncedRecord

EXTERNAL_ID_LENGTH = 200  # synced_records.external_id


@dataclass
class Row:
    external_id: str
    data: dict[str, Any]
    source_updated_at: datetime | str | None  # a moment, or ISO-8601 text of one
    encoded: str = field(default="", repr=False)  # canonical(data), when already made

    def canonical(self) -> str:
        if not self.encoded:
            self.encoded = canonical(self.data)
        return self.encoded


@dataclass
class Rejected:
    external_id: str
    record: dict[str, Any]
    errors: list[dict[str, Any]]


def canonical(data: dict[str, Any]) -> str:
    """The JSON a row is hashed by (and stored as: jsonb keeps no key order anyway)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(data: dict[str, Any]) -> str:
    return _digest(canonical(data))


def parse_moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def as_moment(value: datetime | str | None) -> datetime | None:
    """A row's source time as a moment, whichever form it was kept in."""
    return parse_moment(value) if isinstance(value, str) else value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _upsert_statement() -> Any:
    page = func.json_to_recordset(cast(bindparam("page", type_=Text), JSON)).table_valued(
        column("external_id", Text), column("data", JSONB), column("content_hash", Text),
        column("source_updated_at", DateTime(timezone=True))).render_derived(
            name="page", with_types=True)
    now = bindparam("now", type_=DateTime(timezone=True))
    # tenant_id is a parameter of its own name, so the store's tenant guard checks it
    rows = select(bindparam("tenant_id", type_=UUID(as_uuid=True)),
                  bindparam("data_flow_id", type_=UUID(as_uuid=True)), page.c.external_id,
                  page.c.data, page.c.content_hash, page.c.source_updated_at, now, now,
                  literal("provider"))
    statement = insert(SyncedRecord).from_select(
        ["tenant_id", "data_flow_id", "external_id", "data", "content_hash",
         "source_updated_at", "synced_at", "changed_at", "origin"], rows)
    fresh = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "data_flow_id", "external_id"],
        set_={"data": fresh.data, "content_hash": fresh.content_hash,
              "source_updated_at": fresh.source_updated_at, "synced_at": fresh.synced_at,
              "changed_at": fresh.changed_at, "origin": fresh.origin, "deleted_at": None},
        # a record seen deleted that comes back unchanged is written too: undeleted
        where=SyncedRecord.content_hash.is_distinct_from(fresh.content_hash)
        | SyncedRecord.deleted_at.is_not(None),
    ).returning(SyncedRecord.id).execution_options(
        # one statement with its parameters, not the ORM's bulk insert of a dict per row
        dml_strategy="raw")


_UPSERT = _upsert_statement()


def _page_text(rows: list[Row]) -> str:
    """The page as one JSON array, made from each row's JSON as it is (not re-encoded)."""
    return "[" + ",".join(
        f'{{"external_id":{json.dumps(row.external_id)},"content_hash":'
        f'"{_digest(row.canonical())}","source_updated_at":'
        f'{json.dumps(_moment_text(row.source_updated_at))},"data":{row.canonical()}}}'
        for row in rows) + "]"


def _moment_text(moment: datetime | str | None) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else moment


async def upsert(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID,
                 rows: list[Row]) -> int:
    """Write the rows whose content changed; returns how many were written."""
    if not rows:
        return 0
    # one statement may not touch a row twice: a page that repeats an id keeps its last
    latest = list({row.external_id: row for row in rows}.values())
    written = (await session.execute(_UPSERT, {
        "tenant_id": tenant_id, "data_flow_id": flow_id, "now": datetime.now(UTC),
        "page": _page_text(latest)})).scalars().all()
    return len(written)


def dead_letter(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID,
                run_id: uuid.UUID, rejected: Rejected) -> None:
    session.add(DeadLetter(tenant_id=tenant_id, data_flow_id=flow_id, sync_run_id=run_id,
                           external_id=rejected.external_id[:EXTERNAL_ID_LENGTH],
                           record=rejected.record, errors=rejected.errors))
