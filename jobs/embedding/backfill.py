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
from dataclasses import dataclass
from typing import Any

from arq import cron
from arq.worker import func
from sqlalchemy import literal_column, select, update

from jobs.embedding.embedders import Embedder, embedder_for
from store.db import Database
from store.models import ConnectusInsight, HealthLog
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
    text_sql: str  # the same text the full-text column is built from


SEARCHABLE = (Searchable(HealthLog, LOG_TEXT), Searchable(ConnectusInsight, INSIGHT_TEXT))


async def _embed_batch(db: Database, embedder: Embedder, table: Searchable) -> int:
    model = table.model
    text: Any = literal_column(table.text_sql)
    async with db.transaction(None) as session:
        rows = (await session.execute(
            select(model.id, text.label("text")).where(model.embedding.is_(None))
            .order_by(model.created_at).limit(BATCH))).all()
    if not rows:
        return 0
    vectors = await embedder.embed_documents([row.text for row in rows])
    async with db.transaction(None) as session:
        for row, vector in zip(rows, vectors, strict=True):
            await session.execute(
                update(model).where(model.id == row.id, model.embedding.is_(None),
                                    text == row.text).values(embedding=vector)
                .execution_options(synchronize_session=False))
    return len(rows)


async def embed_pending(db: Database, embedder: Embedder,
                        max_rows: int = MAX_PER_PASS) -> dict[str, int]:
    """Embed up to ``max_rows`` rows without an embedding in each searchable table."""
    done: dict[str, int] = {}
    for table in SEARCHABLE:
        count = 0
        while count < max_rows:
            embedded = await _embed_batch(db, embedder, table)
            count += embedded
            if embedded < BATCH:
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
