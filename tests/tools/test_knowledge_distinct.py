"""Retrieval over distinct texts: a line a log repeats is embedded once and found once, the
cron loads no model when nothing new is waiting, and a tenant whose texts are a small
share of the graph still gets its own nearest texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sqlalchemy import func, insert, select, text

from evals.bench.retrieval import KNOWN_VECTORS
from jobs.embedding.backfill import embed_pending
from jobs.embedding.embedders import LocalE5
from store.models import EMBEDDING_DIM, HealthLog, KnowledgeVector
from tests.conftest import make_tenant
from tools.context import Caller, Services
from tools.knowledge import CANDIDATES, search_knowledge

THROTTLED = "HubSpot answered 429 Too Many Requests; retrying after 9 s."
OTHERS = ("Salesforce refresh token was rejected with invalid_grant; authorise again.",
          "Mailchimp returned 503 Service Unavailable on page 3 of members.",
          "Request to Google Ads timed out after 30 s on campaigns.",
          "Slack bot was removed from the alerts channel.",
          "Zapier hook returned 410 Gone.")


class Counting:
    """The real local embedder, counting the texts it is given."""

    def __init__(self) -> None:
        self.inner, self.texts = LocalE5(), 0
        self.name = self.inner.name

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += len(texts)
        return await self.inner.embed_documents(texts)

    async def embed_query(self, text: str) -> list[float]:
        return await self.inner.embed_query(text)


async def _write(services: Services, caller: Caller, messages: Sequence[str]) -> None:
    async with services.db.transaction(caller.tenant_id) as session:
        session.add_all(HealthLog(severity="warning", category="test", message=m)
                        for m in messages)


async def test_a_repeated_line_is_embedded_once_and_found_once(
        services: Services, tenant: tuple[Caller, str]) -> None:
    caller, _ = tenant
    embedder = Counting()
    await _write(services, caller, [THROTTLED] * 60 + list(OTHERS))
    while sum((await embed_pending(services.db, embedder)).values()):
        pass
    assert embedder.texts == 1 + len(OTHERS)  # one call's worth per distinct text
    await _write(services, caller, [THROTTLED] * 5)  # the same line, later
    assert await embed_pending(services.db, embedder) == {"health_logs": 5,
                                                          "connectus_insights": 0}
    assert embedder.texts == 1 + len(OTHERS)  # known texts take their vector, no model
    async with services.db.transaction(caller.tenant_id) as session:
        newest = await session.scalar(select(HealthLog.id).where(HealthLog.message == THROTTLED)
                                      .order_by(HealthLog.created_at.desc()).limit(1))
        vectors = await session.scalar(select(func.count()).select_from(KnowledgeVector))
    assert vectors == 1 + len(OTHERS)
    hits = await search_knowledge(services, caller, "we are being throttled", limit=5)
    assert hits[0].id == newest and "429" in hits[0].text  # the line's latest occurrence
    assert len({hit.text for hit in hits}) == len(hits) == 5  # five answers, not five copies


async def test_an_idle_pass_loads_no_model(services: Services, tenant: tuple[Caller, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    caller, _ = tenant
    monkeypatch.setattr(LocalE5, "_model", None)  # as in a fresh worker; restored after
    assert await embed_pending(services.db, LocalE5()) == {"health_logs": 0,
                                                           "connectus_insights": 0}
    assert LocalE5._model is None
    await _write(services, caller, [THROTTLED])
    await embed_pending(services.db, LocalE5())
    assert LocalE5._model is not None  # a text to embed, and only then


async def test_a_small_tenant_among_many_others_texts_gets_its_nearest(
        services: Services, tenant: tuple[Caller, str]) -> None:
    acme, _ = tenant
    globex, _ = await make_tenant(services, "globex")
    ours = ("Globex: the HubSpot token of the finance portal expired.",
            "Globex: Slack bot removed from #ops.", "Globex: Mailchimp list was deleted.")
    await _write(services, globex, ours)
    await embed_pending(services.db, LocalE5())
    query = await LocalE5().embed_query("hubspot token expired")
    # acme's texts all lie nearer the query than any of globex's, and there are more
    # of them than an HNSW scan's candidates (hnsw.ef_search), so that scan filtered
    # to globex finds none of globex's: the search must still find them
    rng = np.random.default_rng(5)
    near = np.asarray(query) + rng.normal(0, 0.01, (10 * CANDIDATES, EMBEDDING_DIM))
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    async with services.db.transaction(acme.tenant_id) as session:
        await session.execute(insert(HealthLog), [
            {"tenant_id": acme.tenant_id, "severity": "error", "category": "auth",
             "message": f"Acme: HubSpot token of portal {n} expired.", "details": {},
             "embedding": vector.tolist()} for n, vector in enumerate(near)])
        await session.execute(text(KNOWN_VECTORS), {"tenant": acme.tenant_id})
    hits = await search_knowledge(services, globex, "hubspot token expired", kind="log",
                                  limit=3)
    assert hits[0].text == ours[0]
    assert {hit.text for hit in hits} == set(ours)
    # the planner ranks a tenant this small by its own index and a sort; make it take the
    # graph, as it does for a tenant of middling size, to see the short answer redone
    async with services.db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET enable_sort = off', "
            "current_database()); END $$"))
    await services.db.engine.dispose()  # new connections take the setting
    hits = await search_knowledge(services, globex, "hubspot token expired", kind="log",
                                  limit=3)
    assert {hit.text for hit in hits} == set(ours)
    acme_hits = await search_knowledge(services, acme, "hubspot token expired", limit=50)
    assert len(acme_hits) == 50 and all(hit.text.startswith("Acme") for hit in acme_hits)


async def test_the_search_width_is_set_again_in_each_transaction_of_a_session(
        services: Services, tenant: tuple[Caller, str]) -> None:
    from tools.knowledge import EF_SEARCH, _search_width

    caller, _ = tenant
    async with services.db.session(caller.tenant_id) as session:
        for _ in range(2):  # a commit ends SET LOCAL: the second transaction sets it again
            await _search_width(session, EF_SEARCH)
            await _search_width(session, EF_SEARCH)  # and once is enough within one
            assert await session.scalar(text("SHOW hnsw.ef_search")) == str(EF_SEARCH)
            await session.commit()
