"""create_contact's upserts into the Connectus CRM, coalesced across the runs under way.

The runs of a worker that write a contact in the same moment share one INSERT ... ON
CONFLICT DO UPDATE per tenant (jobs/batching.py). A contact keyed twice in one batch
goes in a second statement after the first (one statement cannot touch a row twice), so
the later write still lands on the earlier one, as it would have one at a time. A field
the write leaves empty keeps its value, and ``data`` is merged, as before.
"""

from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from jobs.batching import Coalescer
from store.db import Database
from store.direct import json_text
from store.models.base import utcnow

FIELDS = ("email", "first_name", "last_name", "company", "phone")


@dataclass(frozen=True)
class Upsert:
    tenant_id: uuid.UUID
    key: str
    row: dict[str, Any]  # FIELDS, data and source


@dataclass(frozen=True)
class Upserted:
    contact_id: uuid.UUID
    created: bool


# one text whatever the batch's size (the rows as one JSON array, store/direct.py), so it
# is prepared once; in key order, so two batches lock shared rows in the same order
UPSERT = (
    "INSERT INTO crm_contacts (id, tenant_id, key, email, first_name, last_name, company, "
    "phone, data, source, created_at, updated_at) "
    "SELECT v.id, %(tenant)s, v.key, v.email, v.first_name, v.last_name, v.company, v.phone, "
    "v.data, v.source, %(now)s, %(now)s "
    "FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(id uuid, key text, email text, "
    "first_name text, last_name text, company text, phone text, data jsonb, source text) "
    "ORDER BY v.key "
    "ON CONFLICT (tenant_id, key) DO UPDATE SET "
    + ", ".join(f"{name} = COALESCE(EXCLUDED.{name}, crm_contacts.{name})" for name in FIELDS)
    + ", data = crm_contacts.data || EXCLUDED.data, updated_at = %(now)s "
    "RETURNING key, id, (xmax = 0) AS created")


async def _flush(db: Database, upserts: list[Upsert]) -> list[Upserted | BaseException]:
    """On the process's direct connections (store/direct.py), a statement a round: the
    tenant is bound from each upsert, which a run made in its own tenant."""
    results: dict[int, Upserted] = {}
    by_tenant: dict[uuid.UUID, list[int]] = defaultdict(list)
    for n, upsert in enumerate(upserts):
        by_tenant[upsert.tenant_id].append(n)
    now = utcnow()
    async with db.direct.connection() as connection:
        for tenant_id, members in by_tenant.items():
            for round_ in _rounds(upserts, members):
                rows = [upserts[n] for n in round_]
                cursor = await connection.execute(UPSERT, {
                    "tenant": tenant_id, "now": now, "rows": json_text([
                        {"id": uuid.uuid4(), "key": u.key,
                         **{name: u.row.get(name) for name in FIELDS},
                         "data": u.row.get("data") or {}, "source": u.row.get("source")}
                        for u in rows])})
                found = {key: Upserted(contact_id, bool(created))
                         for key, contact_id, created in await cursor.fetchall()}
                for n in round_:
                    results[n] = found[upserts[n].key]
    return [results[n] for n in range(len(upserts))]


def _rounds(upserts: list[Upsert], members: list[int]) -> list[list[int]]:
    """``members`` in rounds in which no key repeats, each key's writes in their order."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = defaultdict(int)
    for n in members:
        depth = seen[upserts[n].key]
        seen[upserts[n].key] += 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(n)
    return rounds


_upserts: weakref.WeakKeyDictionary[Database, Coalescer[Upsert, Upserted]] = \
    weakref.WeakKeyDictionary()


def upserts_for(db: Database) -> Coalescer[Upsert, Upserted]:
    if db not in _upserts:
        _upserts[db] = Coalescer(lambda batch: _flush(db, batch), max_items=100)
    return _upserts[db]
