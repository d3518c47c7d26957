"""search_knowledge: a paraphrase finds its log or insight, fusion beats full text alone on
the labelled set, bad input is refused by field, and no search ever crosses tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from evals.retrieval.fused import measure
from jobs.embedding.backfill import embed_pending
from jobs.embedding.embedders import LocalE5
from store.errors import ValidationFailed
from store.models import ConnectusInsight, HealthLog
from tests.conftest import make_tenant
from tools.context import Caller, Services
from tools.knowledge import CANDIDATES, search_knowledge


async def _logs(services: Services, caller: Caller, *messages: str) -> list[object]:
    async with services.db.transaction(caller.tenant_id) as session:
        rows = [HealthLog(severity="error", category="test", message=m) for m in messages]
        session.add_all(rows)
    await embed_pending(services.db, LocalE5())
    return [row.id for row in rows]


async def test_a_paraphrase_finds_its_log_with_no_word_in_common(
        services: Services, tenant: tuple[Caller, str]) -> None:
    caller, _ = tenant
    token, throttled, finished = await _logs(
        services, caller,
        "Salesforce refresh token was rejected with invalid_grant; authorise the connection "
        "again.",
        "HubSpot answered 429 Too Many Requests; retrying after 9 s.",
        "Sync of Mailchimp members finished: 12,400 read, 12,391 written.")
    hits = await search_knowledge(services, caller, "we are being throttled", limit=3)
    assert hits[0].id == throttled and hits[0].kind == "log"
    assert "429" in hits[0].text and hits[0].score > hits[1].score
    [hit] = await search_knowledge(services, caller, "the crm login is not valid any more",
                                   limit=1)
    assert hit.id == token
    assert finished in {h.id for h in await search_knowledge(services, caller, "12,391")}


async def test_fusion_beats_full_text_alone_on_the_labelled_set(
        services: Services, tenant: tuple[Caller, str]) -> None:
    caller, _ = tenant
    recall = await measure(services, caller, LocalE5())
    assert recall["text"] < 0.7  # the set is paraphrases: word overlap alone falls short
    assert recall["fused"] >= 0.85
    assert recall["fused"] > recall["text"] + 0.2 and recall["fused"] >= recall["vector"]


async def test_insights_are_found_and_the_kind_filter_holds(
        services: Services, tenant: tuple[Caller, str]) -> None:
    caller, _ = tenant
    async with services.db.transaction(caller.tenant_id) as session:
        session.add(ConnectusInsight(
            insight_type="prediction", priority="high", fingerprint="quota",
            title="Salesforce daily API quota runs out at 16:00 UTC",
            description="87,400 of 100,000 calls used by 11:00.",
            recommendation="Lower the sync frequency of the leads flow."))
    await _logs(services, caller, "Salesforce returned 503 Service Unavailable.")
    [hit] = await search_knowledge(services, caller, "will we exhaust our allowance today",
                                   kind="insight", limit=5)
    assert hit.kind == "insight" and hit.label == "high" and "quota" in hit.text
    assert all(h.kind == "log" for h in await search_knowledge(
        services, caller, "will we exhaust our allowance today", kind="log"))


@pytest.mark.parametrize(("arguments", "field"), [
    ({"query": "   "}, "query"), ({"query": "x" * 501}, "query"),
    ({"query": "quota", "kind": "event"}, "kind"), ({"query": "quota", "limit": 0}, "limit")])
async def test_bad_input_is_refused_naming_the_field(
        services: Services, tenant: tuple[Caller, str], arguments: dict[str, object],
        field: str) -> None:
    caller, _ = tenant
    with pytest.raises(ValidationFailed) as refused:
        await search_knowledge(services, caller, **arguments)  # type: ignore[arg-type]
    assert refused.value.details[0]["field"] == field


async def test_search_never_crosses_tenants(services: Services,
                                            tenant: tuple[Caller, str]) -> None:
    acme, _ = tenant
    globex, _ = await make_tenant(services, "globex")
    secret = "Globex: the HubSpot token of the finance portal expired."
    theirs = set(await _logs(services, globex, secret, "Globex: Slack bot removed."))
    # more of acme's rows than the HNSW ranking takes, so globex's few are a small share
    ours = set(await _logs(services, acme, *(
        f"Acme: HubSpot token of portal {n} expired." for n in range(CANDIDATES + 10))))
    for query in (secret, "hubspot token expired", "slack bot"):
        acme_hits = {hit.id for hit in await search_knowledge(services, acme, query,
                                                              limit=50)}
        globex_hits = {hit.id for hit in await search_knowledge(services, globex, query,
                                                                limit=50)}
        assert acme_hits and acme_hits <= ours
        assert globex_hits == theirs  # all of its own, although acme's are nearer in number


async def test_a_changed_text_is_embedded_again(services: Services,
                                                tenant: tuple[Caller, str]) -> None:
    caller, _ = tenant
    [row] = await _logs(services, caller, "Mailchimp export timed out.")
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(update(HealthLog).where(HealthLog.id == row)
                              .values(resolution="retried"))
        kept = await session.scalar(select(HealthLog.embedding).where(HealthLog.id == row))
        await session.execute(update(HealthLog).where(HealthLog.id == row)
                              .values(message="Zapier hook returned 410 Gone."))
        cleared = await session.scalar(select(HealthLog.embedding).where(HealthLog.id == row))
    assert kept is not None and cleared is None
    assert await embed_pending(services.db, LocalE5()) == {"health_logs": 1,
                                                           "connectus_insights": 0}
    [hit] = await search_knowledge(services, caller, "the zap is gone", limit=1)
    assert hit.id == row and "410" in hit.text
