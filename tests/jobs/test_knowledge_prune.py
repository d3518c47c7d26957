"""The vectors of texts no row has any more are forgotten: a deleted log's, a changed
text's old one; a text another row (or another tenant) still has keeps its vector."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, insert, select, text, update

from evals.bench.retrieval import KNOWN_VECTORS
from jobs.embedding.prune import prune_orphans
from store.models import EMBEDDING_DIM, HealthLog, KnowledgeVector
from tests.conftest import make_tenant
from tools.context import Caller, Services


async def _logs(services: Services, caller: Caller, *messages: str) -> None:
    vectors = np.random.default_rng(len(messages)).normal(size=(len(messages), EMBEDDING_DIM))
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(insert(HealthLog), [
            {"tenant_id": caller.tenant_id, "severity": "error", "category": "sync",
             "message": message, "details": {},
             "embedding": (vector / np.linalg.norm(vector)).tolist()}
            for message, vector in zip(messages, vectors, strict=True)])
        await session.execute(text(KNOWN_VECTORS), {"tenant": caller.tenant_id})


async def _vectors(services: Services) -> dict[str, int]:
    async with services.db.transaction(None) as session:
        rows = (await session.execute(select(KnowledgeVector.tenant_id))).scalars().all()
    return {str(tenant): rows.count(tenant) for tenant in set(rows)}


async def test_vectors_of_texts_no_row_has_are_pruned(services: Services,
                                                      tenant: tuple[Caller, str]) -> None:
    acme, _ = tenant
    globex, _ = await make_tenant(services, "globex")
    gone, changed, kept = "HubSpot answered 429.", "Slack bot removed.", "Zapier hook 410."
    await _logs(services, acme, gone, gone, changed, kept)
    await _logs(services, globex, gone)
    assert await _vectors(services) == {str(acme.tenant_id): 3, str(globex.tenant_id): 1}
    async with services.db.transaction(acme.tenant_id) as session:
        await session.execute(delete(HealthLog).where(HealthLog.message == gone))
        await session.execute(update(HealthLog).where(HealthLog.message == changed)
                              .values(message="Slack bot removed from #ops."))
    assert await prune_orphans(services.db, max_vectors=1) == {"log": 1, "insight": 0}
    assert await prune_orphans(services.db) == {"log": 1, "insight": 0}  # bounded passes
    assert await _vectors(services) == {str(acme.tenant_id): 1, str(globex.tenant_id): 1}
    assert await prune_orphans(services.db) == {"log": 0, "insight": 0}  # nothing twice
