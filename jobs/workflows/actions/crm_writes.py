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

from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert

from jobs.batching import Coalescer
from store.db import Database
from store.models import CrmContact
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


async def _flush(db: Database, upserts: list[Upsert]) -> list[Upserted | BaseException]:
    results: dict[int, Upserted] = {}
    by_tenant: dict[uuid.UUID, list[int]] = defaultdict(list)
    for n, upsert in enumerate(upserts):
        by_tenant[upsert.tenant_id].append(n)
    for tenant_id, members in by_tenant.items():
        async with db.transaction(tenant_id) as session:
            for round_ in _rounds(upserts, members):
                ordered = sorted(round_, key=lambda n: upserts[n].key)  # row locks in order
                values = insert(CrmContact).values(
                    [{"tenant_id": tenant_id, "key": upserts[n].key, **upserts[n].row}
                     for n in ordered])
                statement: Any = values.on_conflict_do_update(
                    index_elements=["tenant_id", "key"],
                    set_={**{name: func.coalesce(values.excluded[name], getattr(
                        CrmContact, name)) for name in FIELDS},
                          "data": CrmContact.data.op("||")(values.excluded.data),
                          "updated_at": utcnow()},
                ).returning(CrmContact.key, CrmContact.id,
                            literal_column("(xmax = 0)").label("created"))
                found = {row.key: row for row in (await session.execute(statement)).all()}
                for n in ordered:
                    row = found[upserts[n].key]
                    results[n] = Upserted(row.id, bool(row.created))
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
