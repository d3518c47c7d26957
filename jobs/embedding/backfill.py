"""Embed what was written without an embedding: health logs and insights are stored at
once on the request or engine path, and this cron gives them their vectors a few seconds
later, a bounded batch at a time, oldest first.

It reads across tenants on purpose (one pass serves them all), so it uses a system
session; each vector is written back to the row it was made from, and only while that
row's text is still the text that was embedded (a trigger clears the embedding of a row
whose text changes, so the next pass embeds it again).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from arq import cron
from arq.worker import func
from sqlalchemy import literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.embedding.embedders import Embedder, embedder_for
from store.db import Database
from store.models import ConnectusInsight, HealthLog, KnowledgeVector
from store.models.monitoring import INSIGHT_TEXT, LOG_TEXT
from store.settings import Settings

log = logging.getLogger(__name__)

EMBED_JOB = "embed_knowledge"
BATCH = 64  # texts per call to the embedder
MAX_PER_PASS = 512  # rows per table per pass, so one pass stays well inside its timeout
PASS_TIMEOUT_S = 300
EVERY_10_S = set(range(0, 60, 10))


@dataclass(frozen=True)
class Searchable:
    model: Any
    kind: str  # as knowledge_vectors names it
    text_sql: str  # the same text the full-text column and the text hash are made from


SEARCHABLE = (Searchable(HealthLog, "log", LOG_TEXT),
              Searchable(ConnectusInsight, "insight", INSIGHT_TEXT))


async def _known(session: AsyncSession, kind: str, keys: set[tuple[uuid.UUID, uuid.UUID]]
                 ) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which of these (tenant, text hash) already have their vector."""
    found = await session.execute(
        select(KnowledgeVector.tenant_id, KnowledgeVector.text_hash).where(
            KnowledgeVector.kind == kind,
            tuple_(KnowledgeVector.tenant_id, KnowledgeVector.text_hash).in_(list(keys))))
    return {(row.tenant_id, row.text_hash) for row in found}


async def _embed_batch(db: Database, embedder: Embedder, table: Searchable) -> tuple[int, int]:
    """One batch of rows without an embedding: the texts no row of their tenant had before
    are embedded (one call for the batch; none when every text is known), then each row
    takes its text's vector. Returns (rows done, texts embedded)."""
    model = table.model
    async with db.transaction(None) as session:
        rows = (await session.execute(
            select(model.id, model.tenant_id, model.text_hash,
                   literal_column(table.text_sql).label("text"))
            .where(model.embedding.is_(None)).order_by(model.created_at).limit(BATCH))).all()
        if not rows:
            return 0, 0
        texts = {(row.tenant_id, row.text_hash): row.text for row in rows}
        missing = [key for key in texts if key not in await _known(session, table.kind,
                                                                   set(texts))]
    vectors = await embedder.embed_documents([texts[key] for key in missing])
    async with db.transaction(None) as session:
        if missing:
            await session.execute(
                pg_insert(KnowledgeVector).values([
                    {"id": uuid.uuid4(), "tenant_id": tenant_id, "kind": table.kind,
                     "text_hash": text_hash, "embedding": vector}
                    for (tenant_id, text_hash), vector in zip(missing, vectors, strict=True)])
                .on_conflict_do_nothing())
        # by hash, not by id alone: a row whose text changed since it was read has another
        # hash, and waits for the next pass (the trigger cleared its embedding)
        await session.execute(
            update(model).where(model.id.in_([row.id for row in rows]),
                                model.embedding.is_(None),
                                KnowledgeVector.tenant_id == model.tenant_id,
                                KnowledgeVector.kind == table.kind,
                                KnowledgeVector.text_hash == model.text_hash)
            .values(embedding=KnowledgeVector.embedding)
            .execution_options(synchronize_session=False))
    return len(rows), len(missing)


async def embed_pending(db: Database, embedder: Embedder,
                        max_rows: int = MAX_PER_PASS) -> dict[str, int]:
    """Embed up to ``max_rows`` rows without an embedding in each searchable table."""
    done: dict[str, int] = {}
    for table in SEARCHABLE:
        count = 0
        while count < max_rows:
            rows, _texts = await _embed_batch(db, embedder, table)
            count += rows
            if rows < BATCH:
                break
        done[table.model.__tablename__] = count
    if any(done.values()):
        log.info("embedded %s", ", ".join(f"{n} {name}" for name, n in done.items()))
    return done


async def embed_knowledge(ctx: dict[str, Any]) -> dict[str, int]:
    embedder = ctx.get("embedder")
    if embedder is None:
        embedder = ctx["embedder"] = embedder_for(ctx.get("settings") or Settings.from_env())
    return await embed_pending(ctx["db"], embedder)


JOBS = [func(embed_knowledge, name=EMBED_JOB, timeout=PASS_TIMEOUT_S, max_tries=1)]
CRON_JOBS = [cron(embed_knowledge, name=f"cron:{EMBED_JOB}", second=EVERY_10_S,
                  timeout=PASS_TIMEOUT_S, max_tries=1, run_at_startup=False, unique=True)]
