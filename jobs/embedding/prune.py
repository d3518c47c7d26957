"""Forget the vectors of texts no row has any more: a log deleted (with its integration,
or by the demo's reseed) or a text that changed leaves its old vector behind, and a
vector without rows still takes a place in a ranking's candidates (tools/knowledge.py
counts it towards the ranking's length). Hourly, a bounded batch at a time, across
tenants (a system session; each vector is matched to rows of its own tenant).

A text whose first row is written while its vector is being pruned loses nothing: the
backfill finds no vector for it and embeds it again.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron
from sqlalchemy import and_, delete, exists, select

from jobs.embedding.backfill import SEARCHABLE
from store.db import Database
from store.models import KnowledgeVector

log = logging.getLogger(__name__)

PRUNE_JOB = "prune_knowledge"
BATCH = 5000  # vectors deleted per statement
MAX_PER_PASS = 100_000


async def prune_orphans(db: Database, max_vectors: int = MAX_PER_PASS) -> dict[str, int]:
    """Delete up to ``max_vectors`` vectors of each kind whose text has no row left."""
    pruned: dict[str, int] = {}
    for table in SEARCHABLE:
        model, count = table.model, 0
        has_rows = exists().where(and_(model.tenant_id == KnowledgeVector.tenant_id,
                                       model.text_hash == KnowledgeVector.text_hash))
        while count < max_vectors:
            orphans = (select(KnowledgeVector.id)
                       .where(KnowledgeVector.kind == table.kind, ~has_rows)
                       .limit(min(BATCH, max_vectors - count)).scalar_subquery())
            async with db.transaction(None) as session:
                gone = (await session.execute(
                    delete(KnowledgeVector).where(KnowledgeVector.id.in_(orphans))
                    .returning(KnowledgeVector.id))).all()
            count += len(gone)
            if len(gone) < BATCH:
                break
        pruned[table.kind] = count
    if any(pruned.values()):
        log.info("pruned the vectors of texts no row has: %s",
                 ", ".join(f"{n} {kind}" for kind, n in pruned.items()))
    return pruned


async def prune_knowledge(ctx: dict[str, Any]) -> dict[str, int]:
    return await prune_orphans(ctx["db"])


CRON_JOBS = [cron(prune_knowledge, name=f"cron:{PRUNE_JOB}", minute={17}, second={0},
                  timeout=300, max_tries=1, run_at_startup=False, unique=True)]
