"""Retrieval by meaning over a tenant's health logs and insights: ``search_knowledge``.

Two rankings per kind, fused by reciprocal rank (score = sum of w / (60 + rank)): the
nearest embeddings by cosine distance (pgvector HNSW) and PostgreSQL full-text search over
the same text (any of the query's words, ranked by ts_rank_cd). Meaning finds a paraphrase
that shares no word with its match; full text finds an exact error code or id the model
has never seen. Every query runs in the caller's tenant session, so the session's guard
scopes each one to that tenant.

pgvector 0.6 filters the HNSW candidates by tenant after the index scan, so a tenant with
few rows in a large table can get fewer than asked for: then the ranking is redone
exactly (that tenant's rows are few, so an exact scan of them is cheap).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Text, cast, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.embedding.embedders import Embedder, embedder_for
from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import ConnectusInsight, HealthLog
from store.models.monitoring import INSIGHT_TEXT, LOG_TEXT
from tools.context import Services

Kind = Literal["log", "insight"]
MODELS: dict[str, Any] = {"log": HealthLog, "insight": ConnectusInsight}
TEXTS = {"log": LOG_TEXT, "insight": INSIGHT_TEXT}
CANDIDATES = 40  # per ranking and kind, before fusion
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)
# full text counts for less than meaning: on the labelled set (docs/retrieval.md) equal
# weights fused to a recall@5 below meaning alone; at 0.3 the fusion beats both
TEXT_WEIGHT = 0.3
EF_SEARCH = 100  # HNSW candidate list; docs/retrieval.md has the recall it buys
MAX_QUERY = 500
MAX_LIMIT = 50


class KnowledgeHit(BaseModel):
    id: uuid.UUID
    kind: Kind
    text: str
    score: float = Field(description="reciprocal-rank fusion of meaning and full text")
    label: str = Field(description="a log's severity or an insight's priority")
    integration_id: uuid.UUID | None
    created_at: datetime


def any_word(query: str) -> Any:
    """A tsquery matching any of the query's words (plainto_tsquery wants all of them)."""
    words = cast(func.plainto_tsquery("english", query), Text)
    return cast(func.replace(words, " & ", " | "), TSQUERY)


async def vector_ranked(session: AsyncSession, kind: str, vector: Sequence[float],
                        n: int = CANDIDATES, *, exact: bool = False) -> list[uuid.UUID]:
    model = MODELS[kind]
    distance = model.embedding.cosine_distance(vector)
    statement = (select(model.id).where(model.embedding.is_not(None))
                 .order_by(distance).limit(n))
    # LOCAL: for this transaction only, so a pooled connection keeps its defaults
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}"))
    await session.execute(text(f"SET LOCAL enable_indexscan = {'off' if exact else 'on'}"))
    return list((await session.scalars(statement)).all())


async def nearest(session: AsyncSession, kind: str, vector: Sequence[float]
                  ) -> list[uuid.UUID]:
    """The HNSW ranking, redone exactly when it came up short: the tenant has fewer rows
    than that, or the index's candidates were mostly other tenants' (or dead) rows."""
    found = await vector_ranked(session, kind, vector)
    if len(found) < CANDIDATES:
        found = await vector_ranked(session, kind, vector, exact=True)
    return found


async def text_ranked(session: AsyncSession, kind: str, query: str,
                      n: int = CANDIDATES) -> list[uuid.UUID]:
    model = MODELS[kind]
    words = any_word(query)
    statement = (select(model.id).where(model.search_vector.op("@@")(words))
                 .order_by(func.ts_rank_cd(model.search_vector, words).desc()).limit(n))
    return list((await session.scalars(statement)).all())


def fuse(rankings: Sequence[Sequence[uuid.UUID]],
         weights: Sequence[float] | None = None) -> dict[uuid.UUID, float]:
    """Weighted reciprocal rank fusion: each ranking adds weight / (RRF_K + rank)."""
    scores: dict[uuid.UUID, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row_id in enumerate(ranking, start=1):
            scores[row_id] = scores.get(row_id, 0.0) + weight / (RRF_K + rank)
    return scores


async def _hits(session: AsyncSession, kind: str, scores: dict[uuid.UUID, float]
                ) -> list[KnowledgeHit]:
    model = MODELS[kind]
    label = model.severity if kind == "log" else model.priority
    rows = (await session.execute(
        select(model.id, literal_column(TEXTS[kind]).label("text"), label.label("label"),
               model.integration_id, model.created_at)
        .where(model.id.in_(list(scores))))).all()
    return [KnowledgeHit(id=row.id, kind=kind, text=row.text, score=round(scores[row.id], 5),
                         label=row.label, integration_id=row.integration_id,
                         created_at=row.created_at) for row in rows]


async def fused_search(session: AsyncSession, query: str, vector: Sequence[float],
                       kinds: Sequence[str], limit: int) -> list[KnowledgeHit]:
    """Both rankings of every kind fused, best first; ``vector`` is the query's embedding."""
    hits: list[KnowledgeHit] = []
    for kind in kinds:
        scores = fuse([await nearest(session, kind, vector),
                       await text_ranked(session, kind, query)], [1.0, TEXT_WEIGHT])
        best = dict(sorted(scores.items(), key=lambda item: -item[1])[:limit])
        hits.extend(await _hits(session, kind, best) if best else [])
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]


def query_embedder(services: Services) -> Embedder:
    embedder = services.extras.get("embedder")
    if embedder is None:
        embedder = services.extras["embedder"] = embedder_for(services.settings)
    return embedder


async def search_knowledge(services: Services, caller: Caller, query: str, *,
                           kind: str | None = None, limit: int = 5) -> list[KnowledgeHit]:
    """The tenant's health logs and insights that best match ``query`` by meaning and by
    words, best first, each with its id, kind, text and fused score."""
    query = (query or "").strip()
    if not query:
        raise ValidationFailed("say what to look for", field="query")
    if len(query) > MAX_QUERY:
        raise ValidationFailed(f"is {len(query)} characters; at most {MAX_QUERY}",
                               field="query")
    if kind is not None and kind not in MODELS:
        raise ValidationFailed(f"must be log or insight, got {kind!r}", field="kind")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"must be 1 to {MAX_LIMIT}, got {limit}", field="limit")
    vector = await query_embedder(services).embed_query(query)
    async with services.db.transaction(caller.tenant_id) as session:
        return await fused_search(session, query, vector, [kind] if kind else list(MODELS),
                                  limit)
