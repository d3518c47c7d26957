"""Retrieval by meaning over a tenant's health logs and insights: ``search_knowledge``.

Two rankings per kind, fused by reciprocal rank (score = sum of w / (60 + rank)): the
nearest embeddings by cosine distance (pgvector HNSW) and PostgreSQL full-text search over
the same text (all of the query's words, ranked by ts_rank_cd). Meaning finds a paraphrase
that shares no word with its match; full text finds an exact error code or id the model
has never seen. Every query runs in the caller's tenant session, so the session's guard
scopes each one to that tenant.

Both rank distinct texts, not rows: a log repeats itself, and ten copies of one line are
one answer, not ten. Vectors are kept once per distinct text (store.models.knowledge),
and a hit shows the newest row of its text. Each kind's two rankings come back in one
statement with the text a hit shows, so a search is a few round trips whatever the
table's size. Every statement names the session's
tenant itself (store.db.session_tenant) as well as passing the session's guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, literal, literal_column, select, text, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.embedding.embedders import Embedder, embedder_for
from store.accounts import Caller
from store.db import session_tenant
from store.errors import ValidationFailed
from store.models import ConnectusInsight, HealthLog, KnowledgeVector
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
VECTOR, TEXT = 0, 1  # the two rankings, as numbered in a combined result
HELD = 2  # not a ranking: how many vectors of the kind the tenant has, up to CANDIDATES
EF_SEARCH = 400  # HNSW candidate list; docs/retrieval.md has the recall it buys
WIDE_EF_SEARCH = 1000  # pgvector's largest, for a tenant with a small share of the graph
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


def _nearest_texts(kind: str, tenant_id: uuid.UUID, vector: Sequence[float], n: int,
                   exact: bool) -> Any:
    """The ``n`` distinct texts of the tenant nearest ``vector``, by the kind's HNSW graph
    or, when ``exact``, by a scan of the tenant's vectors."""
    distance = KnowledgeVector.embedding.cosine_distance(vector)
    # + 0 is an expression the HNSW index cannot serve, so the planner ranks exactly
    order = distance + 0 if exact else distance
    return (select(KnowledgeVector.text_hash.label("text_hash"),
                   literal(VECTOR).label("ranking"),
                   func.row_number().over(order_by=order).label("rank"))
            # the kind inlined, so that a prepared statement still matches the partial index
            .where(KnowledgeVector.tenant_id == tenant_id,
                   KnowledgeVector.kind == literal_column(f"'{kind}'"))
            .order_by(order).limit(n))


def _text_matches(model: Any, tenant_id: uuid.UUID, query: str, n: int) -> Any:
    """The ``n`` distinct texts that best match all of the query's words."""
    words = all_words(query)
    score = func.max(func.ts_rank_cd(model.search_vector, words))
    return (select(model.text_hash.label("text_hash"), literal(TEXT).label("ranking"),
                   func.row_number().over(order_by=score.desc()).label("rank"))
            .where(model.tenant_id == tenant_id, model.search_vector.op("@@")(words))
            .group_by(model.text_hash).order_by(score.desc()).limit(n))


def _held(kind: str, tenant_id: uuid.UUID) -> Any:
    """How many vectors of ``kind`` the tenant has, counted no further than CANDIDATES (an
    index range of at most that many entries), as a row of the combined result: when the
    graph found them all, no exact scan is needed to know nothing was missed."""
    some = (select(KnowledgeVector.id)
            .where(KnowledgeVector.tenant_id == tenant_id,
                   KnowledgeVector.kind == literal_column(f"'{kind}'"))
            .limit(CANDIDATES).subquery())
    return select(literal(None, KnowledgeVector.text_hash.type).label("text_hash"),
                  literal(HELD).label("ranking"),
                  select(func.count()).select_from(some).scalar_subquery().label("rank"))


async def _search_width(session: AsyncSession, ef_search: int) -> None:
    """Set the HNSW candidate list for this transaction, once per value: a search of
    both kinds would otherwise pay a round trip per statement to set it again."""
    said = session.info.get("hnsw.ef_search")
    transaction = session.get_transaction()
    if said is not None and transaction is not None and said == (transaction, ef_search):
        return
    # LOCAL: for this transaction only, so a pooled connection keeps its defaults; and so
    # it is remembered with the transaction, which a commit ends
    await session.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search)}"))
    session.info["hnsw.ef_search"] = (session.get_transaction(), ef_search)


async def _rows(session: AsyncSession, kind: str, *rankings: Any,
                ef_search: int = EF_SEARCH) -> list[Any]:
    """The rankings' texts, each shown by its newest row (what a hit shows), numbered by
    rank. A vector whose rows are all gone (deleted, or their text changed) comes back
    with no ``id``: it still counts towards the ranking's length."""
    model, tenant_id = MODELS[kind], session_tenant(session)
    await _search_width(session, ef_search)
    ranked = union_all(*(select(*part.c) for part in
                         (ranking.subquery() for ranking in rankings))).subquery("ranked")
    label = model.severity if model is HealthLog else model.priority
    newest = (select(model.id.label("id"), literal_column(TEXTS[kind]).label("text"),
                     label.label("label"), model.integration_id, model.created_at)
              .where(model.tenant_id == tenant_id, model.text_hash == ranked.c.text_hash)
              .order_by(model.created_at.desc()).limit(1).lateral("newest"))
    return list((await session.execute(
        select(ranked.c.ranking, ranked.c.rank, *newest.c)
        .select_from(ranked.outerjoin(newest, true())))).all())


def _ids(rows: list[Any], ranking: int) -> list[uuid.UUID]:
    return [row.id for row in sorted(rows, key=lambda row: row.rank)
            if row.ranking == ranking and row.id is not None]


async def vector_ranked(session: AsyncSession, kind: str, vector: Sequence[float],
                        n: int = CANDIDATES, *, exact: bool = False) -> list[uuid.UUID]:
    """The ``n`` distinct texts nearest ``vector`` (by HNSW, or by an exact scan), each as
    the id of its newest row."""
    rows = await _rows(session, kind, _nearest_texts(kind, session_tenant(session), vector,
                                                     n, exact))
    return _ids(rows, VECTOR)


async def nearest(session: AsyncSession, kind: str, vector: Sequence[float]
                  ) -> list[uuid.UUID]:
    """The vector ranking as the search uses it: HNSW, exact when that came up short."""
    return _ids(await _vector_rows(session, kind, vector), VECTOR)


async def text_ranked(session: AsyncSession, kind: str, query: str,
                      n: int = CANDIDATES) -> list[uuid.UUID]:
    rows = await _rows(session, kind, _text_matches(MODELS[kind], session_tenant(session),
                                                    query, n))
    return _ids(rows, TEXT)


async def _vector_rows(session: AsyncSession, kind: str, vector: Sequence[float],
                       *also: Any) -> list[Any]:
    """The vector ranking (and ``also`` other rankings, in the same round trip).

    pgvector 0.6 filters the HNSW candidates by tenant after the index scan, so a tenant
    with a small share of the graph gets fewer than it asked for. Then the share is about
    what came back over ``EF_SEARCH``: when a list of ``WIDE_EF_SEARCH`` candidates should
    hold enough of the tenant's texts, the scan is redone with it; else (or when that too
    came up short) it is redone exactly over the tenant's own vectors, which are then few
    and cheap to scan."""
    tenant_id = session_tenant(session)

    def nearest_texts(exact: bool) -> Any:
        return _nearest_texts(kind, tenant_id, vector, CANDIDATES, exact)

    rows = await _rows(session, kind, nearest_texts(False), _held(kind, tenant_id), *also)
    found = sum(1 for row in rows if row.ranking == VECTOR)
    held = next(row.rank for row in rows if row.ranking == HELD)
    rows = [row for row in rows if row.ranking != HELD]
    if found >= min(held, CANDIDATES):  # as many as asked for, or every one the tenant has
        return rows
    others = [row for row in rows if row.ranking != VECTOR]
    if found * WIDE_EF_SEARCH >= 2 * CANDIDATES * EF_SEARCH:  # twice the share it needs
        wide = await _rows(session, kind, nearest_texts(False), ef_search=WIDE_EF_SEARCH)
        if len(wide) >= CANDIDATES:
            return others + wide
    return others + await _rows(session, kind, nearest_texts(True))


async def _both(session: AsyncSession, kind: str, query: str, vector: Sequence[float]
                ) -> list[Any]:
    """Both rankings of one kind, in one round trip unless the vector one came up short."""
    return await _vector_rows(session, kind, vector,
                              _text_matches(MODELS[kind], session_tenant(session), query,
                                            CANDIDATES))


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
        shown = {row.id: row for row in rows if row.id is not None}
        rankings = [_ids(rows, ranking) for ranking in (VECTOR, TEXT)]
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
