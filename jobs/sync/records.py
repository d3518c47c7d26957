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
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
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
    digest: str = field(default="", repr=False)  # its hash, when already made

    def canonical(self) -> str:
        if not self.encoded:
            self.encoded = canonical(self.data)
        return self.encoded

    def content_hash(self) -> str:
        if not self.digest:
            self.digest = text_hash(self.canonical())
        return self.digest


@dataclass
class Rejected:
    external_id: str
    record: dict[str, Any]
    errors: list[dict[str, Any]]


def canonical(data: dict[str, Any]) -> str:
    """The JSON a row is hashed by (and stored as: jsonb keeps no key order anyway).

    orjson makes it ten times faster, and it is used only where its text is exactly what
    ``json.dumps`` would make, so stored hashes stay valid: plain ASCII, no float (orjson
    writes some exponents otherwise), no DEL (which ``json`` escapes), nothing it would
    not encode itself (a moment, a dataclass or a subclass go to ``json`` whole)."""
    try:
        fast = orjson.dumps(data, option=_CANONICAL, default=_not_plain)
    except TypeError:  # orjson.JSONEncodeError: also non-text keys, integers past 64 bits
        fast = None
    if fast is not None and fast.isascii() and b"\x7f" not in fast \
            and _FLOAT.search(fast) is None:
        return fast.decode()
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


_CANONICAL = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
              | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)
# a number with a fraction or an exponent (and, harmlessly, text that looks like one)
_FLOAT = re.compile(rb"[:,\[]-?\d+[.eE]")


def _not_plain(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def content_hash(data: dict[str, Any]) -> str:
    return text_hash(canonical(data))


def parse_moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def as_moment(value: datetime | str | None) -> datetime | None:
    """A row's source time as a moment, whichever form it was kept in."""
    return parse_moment(value) if isinstance(value, str) else value


def text_hash(text: str) -> str:
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
        f'{{"external_id":{_quoted(row.external_id)},"content_hash":'
        f'"{row.content_hash()}","source_updated_at":'
        f'{_quoted(_moment_text(row.source_updated_at))},"data":{row.canonical()}}}'
        for row in rows) + "]"


def _quoted(text: str | None) -> str:
    return orjson.dumps(text).decode()


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


# A page's rows, its dead letters, its counts, its checkpoint and the lease in one statement,
# on the run's held connection in autocommit (``Database.held_connection``): the statement
# is the page's transaction, one round trip with no BEGIN and COMMIT of its own. Through
# SQLAlchemy a session, a pool checkout with its ping, and the upsert and checkpoint as ORM
# statements cost more of our own CPU than mapping the page did. Nothing on that connection
# passes the tenant guard, so every tenant_id is bound from the run, loaded in its tenant's
# session.
#
# ``lease`` locks the run's row while this worker still owns it; every write below depends
# on it, so once another worker has taken the run (or takes it while we wait for the lock,
# and READ COMMITTED re-reads the row) nothing at all is written or counted. A takeover
# waiting on our lock sees the lease we just extended and gives up. The commit does not
# wait for its WAL flush (why: jobs.sync.engine); set_config's local value holds for the
# statement's own transaction.
_BATCH = """
WITH lease AS (
    SELECT id FROM sync_runs
    WHERE id = %(run_id)s AND tenant_id = %(tenant_id)s AND lease_owner = %(owner)s
        AND status = 'running'
    FOR UPDATE
), written AS (
    INSERT INTO synced_records AS old (tenant_id, data_flow_id, external_id, data,
        content_hash, source_updated_at, synced_at, changed_at, origin)
    SELECT %(tenant_id)s, %(flow_id)s, page.external_id, page.data, page.content_hash,
        page.source_updated_at, %(now)s, %(now)s, 'provider'
    FROM json_to_recordset(%(page)s::json) AS page(external_id text, data jsonb,
        content_hash text, source_updated_at timestamptz)
    WHERE EXISTS (SELECT 1 FROM lease)
    ON CONFLICT (tenant_id, data_flow_id, external_id) DO UPDATE SET
        data = excluded.data, content_hash = excluded.content_hash,
        source_updated_at = excluded.source_updated_at, synced_at = excluded.synced_at,
        changed_at = excluded.changed_at, origin = excluded.origin, deleted_at = NULL
    WHERE old.content_hash IS DISTINCT FROM excluded.content_hash
        OR old.deleted_at IS NOT NULL
    RETURNING 1
), letters AS (
    INSERT INTO dead_letters (id, tenant_id, data_flow_id, sync_run_id, external_id,
        record, errors, status, created_at)
    SELECT gen_random_uuid(), %(tenant_id)s, %(flow_id)s, %(run_id)s, letter.external_id,
        letter.record, letter.errors, 'open', %(now)s
    FROM json_to_recordset(%(letters)s::json) AS letter(external_id text, record jsonb,
        errors jsonb)
    WHERE EXISTS (SELECT 1 FROM lease)
    RETURNING 1
), counted AS (SELECT count(*)::int AS n FROM written),
kept AS (
    UPDATE sync_runs SET records_read = records_read + %(read)s::int,
        records_written = records_written + counted.n,
        records_unchanged = records_unchanged + %(rows)s::int - counted.n,
        records_failed = records_failed + (SELECT count(*)::int FROM letters),
        checkpoint = %(checkpoint)s::jsonb, lease_expires_at = %(lease_until)s
    FROM counted, lease
    WHERE sync_runs.id = lease.id
    RETURNING set_config('synchronous_commit', 'off', true)
)
SELECT (SELECT n FROM counted), (SELECT count(*) FROM kept)
"""


@dataclass(frozen=True)
class BatchRun:
    """Whose batch it is: the run (and its tenant), its lease holder and until when the
    lease is renewed."""

    tenant_id: uuid.UUID
    run_id: uuid.UUID
    flow_id: uuid.UUID
    owner: str
    lease_until: datetime


async def write_batch(connection: Any, who: BatchRun, rows: list[Row],
                      rejected: list[Rejected], *, read: int,
                      checkpoint: dict[str, Any]) -> int | None:
    """Upsert the page's rows, dead-letter its rejects and add its counts, checkpoint and
    lease to the run, as one statement on the held connection (in autocommit: the statement
    commits the page whole). How many rows were written, or None when another worker owns
    the run, and then nothing was written at all."""
    latest = list({row.external_id: row for row in rows}.values())  # see upsert
    cursor = await connection.execute(_BATCH, {
        "tenant_id": who.tenant_id, "flow_id": who.flow_id, "run_id": who.run_id,
        "now": datetime.now(UTC), "page": _page_text(latest), "read": read,
        "rows": len(rows), "checkpoint": json.dumps(checkpoint),
        "lease_until": who.lease_until, "owner": who.owner,
        "letters": json.dumps([
            {"external_id": bad.external_id[:EXTERNAL_ID_LENGTH], "record": bad.record,
             "errors": bad.errors} for bad in rejected], default=str)})
    written, kept = await cursor.fetchone()
    return int(written) if kept else None
