"""Retrieval by meaning over a tenant's health logs and insights: ``search_knowledge``.

Two rankings per kind, fused by reciprocal rank (score = sum of w / (60 + rank)): the
nearest embeddings by cosine distance (pgvector HNSW) and PostgreSQL full-text search over
the same text (all of the query's words, ranked by ts_rank_cd). Meaning finds a paraphrase
that shares no word with its match; full text finds an exact error code or id the model
has never seen. Every query runs in the caller's tenant session, so the session's guard
scopes each one to that tenant.

Each kind's two rankings come back in one statement with the text a hit shows, so a
search is a few round trips whatever the table's size. Every statement names the session's
tenant itself (store.db.session_tenant) as well as passing the session's guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, literal, literal_column, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.embedding.embedders import Embedder, embedder_for
from store.accounts import Caller
from store.db import session_tenant
from store.errors import ValidationFailed
from store.models import ConnectusInsight, HealthLog
from store.models.monitoring import INSIGHT_TEXT, LOG_TEXT
from tools.context import Services

Kind = Literal["log", "insight"]
MODELS: dict[str, Any] = {"log": HealthLog, "insight": ConnectusInsight}
TEXTS = {"log": LOG_TEXT, "insight": INSIGHT_TEXT}
_KIND_OF = {model: kind for kind, model in MODELS.items()}
CANDIDATES = 40  # per ranking and kind, before fusion
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)
# full text counts for less than meaning: on the labelled set (docs/retrieval.md) equal
# weights fused to a recall@5 below meaning alone; at 0.3 the fusion beats both
TEXT_WEIGHT = 0.3
VECTOR, TEXT = 0, 1  # the two rankings, as numbered in a combined result
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


def all_words(query: str) -> Any:
    """A tsquery matching rows with all of the query's words. Any word would rank far more
    rows: over 100,000 logs a common word ("sync") matched a third of them, and ranking
    those cost half a second; meaning already covers the rows that share only some."""
    return func.plainto_tsquery("english", query)


def _ranked(model: Any, tenant_id: uuid.UUID, ranking: int, order: Any, where: Any,
            n: int) -> Any:
    """One ranking's first ``n`` rows with what a hit shows, numbered by rank."""
    label = model.severity if model is HealthLog else model.priority
    return (select(model.id.label("id"), literal(ranking).label("ranking"),
                   func.row_number().over(order_by=order).label("rank"),
                   literal_column(TEXTS[_KIND_OF[model]]).label("text"),
                   label.label("label"), model.integration_id, model.created_at)
            .where(model.tenant_id == tenant_id, where).order_by(order).limit(n))


def _by_vector(model: Any, tenant_id: uuid.UUID, vector: Sequence[float], n: int,
               exact: bool) -> Any:
    distance = model.embedding.cosine_distance(vector)
    # + 0 is an expression the HNSW index cannot serve, so the planner ranks exactly
    order = distance + 0 if exact else distance
    return _ranked(model, tenant_id, VECTOR, order, model.embedding.is_not(None), n)


def _by_text(model: Any, tenant_id: uuid.UUID, query: str, n: int) -> Any:
    words = all_words(query)
    return _ranked(model, tenant_id, TEXT, func.ts_rank_cd(model.search_vector, words).desc(),
                   model.search_vector.op("@@")(words), n)


async def _rows(session: AsyncSession, *statements: Any) -> list[Any]:
    # LOCAL: for this transaction only, so a pooled connection keeps its defaults
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}"))
    parts = [statement.subquery() for statement in statements]
    return list((await session.execute(union_all(*(select(*part.c) for part in parts)))).all())


async def vector_ranked(session: AsyncSession, kind: str, vector: Sequence[float],
                        n: int = CANDIDATES, *, exact: bool = False) -> list[uuid.UUID]:
    """The ids of the ``n`` rows nearest ``vector``: by HNSW, or by an exact scan."""
    rows = await _rows(session, _by_vector(MODELS[kind], session_tenant(session), vector, n,
                                           exact))
    return [row.id for row in sorted(rows, key=lambda row: row.rank)]


async def nearest(session: AsyncSession, kind: str, vector: Sequence[float]
                  ) -> list[uuid.UUID]:
    """The vector ranking as the search uses it: HNSW, exact when that came up short."""
    found = await vector_ranked(session, kind, vector)
    if len(found) < CANDIDATES:
        found = await vector_ranked(session, kind, vector, exact=True)
    return found


async def text_ranked(session: AsyncSession, kind: str, query: str,
                      n: int = CANDIDATES) -> list[uuid.UUID]:
    rows = await _rows(session, _by_text(MODELS[kind], session_tenant(session), query, n))
    return [row.id for row in sorted(rows, key=lambda row: row.rank)]


async def _both(session: AsyncSession, kind: str, query: str, vector: Sequence[float]
                ) -> list[Any]:
    """Both rankings of one kind in one round trip. pgvector 0.6 filters the HNSW
    candidates by tenant after the index scan, so when the vector ranking came up short
    (the tenant has fewer rows, or the candidates were mostly other tenants' or dead rows)
    it is redone exactly: then the tenant's rows are few, and an exact scan cheap."""
    model, tenant_id = MODELS[kind], session_tenant(session)
    rows = await _rows(session, _by_vector(model, tenant_id, vector, CANDIDATES, False),
                       _by_text(model, tenant_id, query, CANDIDATES))
    if sum(1 for row in rows if row.ranking == VECTOR) < CANDIDATES:
        rows = [row for row in rows if row.ranking == TEXT] + await _rows(
            session, _by_vector(model, tenant_id, vector, CANDIDATES, True))
    return rows


def fuse(rankings: Sequence[Sequence[uuid.UUID]],
         weights: Sequence[float] | None = None) -> dict[uuid.UUID, float]:
    """Weighted reciprocal rank fusion: each ranking adds weight / (RRF_K + rank)."""
    scores: dict[uuid.UUID, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row_id in enumerate(ranking, start=1):
            scores[row_id] = scores.get(row_id, 0.0) + weight / (RRF_K + rank)
    return scores


async def fused_search(session: AsyncSession, query: str, vector: Sequence[float],
                       kinds: Sequence[str], limit: int) -> list[KnowledgeHit]:
    """Both rankings of every kind fused, best first; ``vector`` is the query's embedding."""
    hits: list[KnowledgeHit] = []
    for kind in kinds:
        rows = await _both(session, kind, query, vector)
        shown = {row.id: row for row in rows}
        rankings = [[row.id for row in sorted(rows, key=lambda row: row.rank)
                     if row.ranking == ranking] for ranking in (VECTOR, TEXT)]
        scores = fuse(rankings, [1.0, TEXT_WEIGHT])
        hits += [KnowledgeHit(id=row_id, kind=kind, text=shown[row_id].text,
                              score=round(score, 5), label=shown[row_id].label,
                              integration_id=shown[row_id].integration_id,
                              created_at=shown[row_id].created_at)
                 for row_id, score in sorted(scores.items(), key=lambda item: -item[1])[:limit]]
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
