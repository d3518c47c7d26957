"""The labelled set through the real search: stored as one tenant's health logs and
insights in PostgreSQL, embedded by the default embedder, then ranked three ways with
recall@5 for each: full text alone (the floor), the HNSW ranking alone, and the two fused
as ``search_knowledge`` does.

    CONNECTUS_DATA_DIR=.data python -m evals.retrieval.fused
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import delete

from evals.retrieval.generate import logs
from evals.retrieval.labelled import documents, queries, recall_at
from jobs.embedding.backfill import embed_pending
from jobs.embedding.embedders import Embedder
from store.accounts import Caller, create_tenant, create_user
from store.models import ConnectusInsight, HealthLog, Role, Tenant
from tools.context import Services
from tools.knowledge import CANDIDATES, fuse, fused_search, nearest, text_ranked

DISTRACTORS = 300  # routine generated logs among the labelled ones
KINDS = ("log", "insight")


async def store_labelled(services: Services, caller: Caller,
                         distractors: int = DISTRACTORS) -> dict[uuid.UUID, str]:
    """The labelled documents as the tenant's rows (plus routine logs); row id -> doc id."""
    ids: dict[uuid.UUID, str] = {}
    async with services.db.transaction(caller.tenant_id) as session:
        for doc in documents():
            row_id = uuid.uuid4()
            ids[row_id] = doc.id
            if doc.kind == "log":
                session.add(HealthLog(id=row_id, severity="error", category="eval",
                                      message=doc.text))
            else:
                title, _, rest = doc.text.partition(". ")
                session.add(ConnectusInsight(
                    id=row_id, insight_type="warning", priority="high", title=title[:200],
                    description=rest, fingerprint=doc.id))
        for log in logs(distractors, seed=3, routine_only=True):
            session.add(HealthLog(severity=log.severity, category=log.category,
                                  message=log.message))
    return ids


async def measure(services: Services, caller: Caller, embedder: Embedder) -> dict[str, Any]:
    ids = await store_labelled(services, caller)
    while sum((await embed_pending(services.db, embedder)).values()):
        pass
    vectors = {q.query: await embedder.embed_query(q.query) for q in queries()}
    rankings: dict[str, dict[str, list[str]]] = {"text": {}, "vector": {}, "fused": {}}
    async with services.db.transaction(caller.tenant_id) as session:
        for query, vector in vectors.items():
            by_text = [await text_ranked(session, kind, query) for kind in KINDS]
            by_vector = [await nearest(session, kind, vector) for kind in KINDS]
            # each ranking across both kinds the way search_knowledge merges them: by the
            # reciprocal rank within its own kind
            rankings["text"][query] = _ordered(fuse(by_text), ids)
            rankings["vector"][query] = _ordered(fuse(by_vector), ids)
            hits = await fused_search(session, query, vector, KINDS, CANDIDATES)
            rankings["fused"][query] = [ids.get(hit.id, "distractor") for hit in hits]
    return {name: recall_at(5, lambda q, r=ranked: r[q])  # type: ignore[misc]
            for name, ranked in rankings.items()}


def _ordered(scores: dict[uuid.UUID, float], ids: dict[uuid.UUID, str]) -> list[str]:
    return [ids.get(row, "distractor") for row in sorted(scores, key=lambda r: -scores[r])]


async def main() -> None:
    from jobs.embedding.embedders import embedder_for
    from tools.context import Settings
    from tools.runtime import running

    settings = Settings.from_env()
    async with running(settings, queue=False) as services:
        async with services.db.transaction(None) as session:
            slug = f"eval-{uuid.uuid4().hex[:8]}"
            tenant = await create_tenant(session, "Retrieval eval", slug)
            user = await create_user(session, tenant.id, f"owner@{slug}.example", Role.owner)
        caller = Caller(tenant_id=tenant.id, user_id=user.id, role=Role.owner, email=user.email)
        try:
            embedder = embedder_for(settings)
            print(json.dumps({"embedder": embedder.name,
                              "recall_at_5": await measure(services, caller, embedder)}))
        finally:
            async with services.db.transaction(None) as session:
                await session.execute(delete(Tenant).where(Tenant.id == tenant.id))


if __name__ == "__main__":
    asyncio.run(main())
