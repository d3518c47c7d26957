"""The health summary and API usage over REST: an overall score from the integrations'
own, counts by health and status, usage against limits with headroom, and the top open
problems in words; usage by hour and by day per integration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from store.models import ApiUsage, HealthLog, Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Caller, Services


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _two(services: Services, caller: Caller) -> dict[str, uuid.UUID]:
    """Slack is fine; Salesforce needs reconnecting, has an open error and has spent 90%
    of a 10,000-call day at a pace that ends it within the hour."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with services.db.transaction(caller.tenant_id) as session:
        providers = {p.name: p.id for p in await session.scalars(select(IntegrationProvider))}
        slack = Integration(provider_id=providers["slack"], name="Team Slack", status="active",
                            api_calls_limit=20_000)
        salesforce = Integration(provider_id=providers["salesforce"], name="Sales Org",
                                 status="reconnect_needed", api_calls_limit=10_000)
        session.add_all([slack, salesforce])
        await session.flush()
        session.add(HealthLog(integration_id=salesforce.id, severity="error",
                              category="auth", message="Salesforce: INVALID_SESSION_ID"))
        session.add(ApiUsage(integration_id=salesforce.id, hour=hour, calls=9_000,
                             operations=9_000, errors=12))
        session.add(ApiUsage(integration_id=slack.id, hour=hour, calls=1_000,
                             operations=1_000))
        # yesterday's usage is in the week, not in today or the last 24 hours
        session.add(ApiUsage(integration_id=slack.id, hour=hour - timedelta(days=1),
                             calls=500, operations=500))
    return {"slack": slack.id, "salesforce": salesforce.id}


async def test_the_summary_scores_counts_usage_and_top_problems(services: Services,
                                                                api: httpx.AsyncClient) -> None:
    caller, key = await make_tenant(services, "acme")
    await _two(services, caller)
    found = await api.get("/integrations/integrations/health_summary/", headers=bearer(key))
    assert found.status_code == 200, found.text
    summary = found.json()
    scores = {s["integration"]: s for s in summary["scores"]}
    assert scores["Team Slack"]["health_score"] == 100
    sales = scores["Sales Org"]
    assert sales["health"] == "critical" and sales["health_score"] < 50
    assert summary["overall_score"] == round((100 + sales["health_score"]) / 2)
    assert summary["by_health"] == {"healthy": 1, "warning": 0, "critical": 1}
    assert summary["by_status"] == {"active": 1, "reconnect_needed": 1}
    assert summary["open_logs"] == {"error": 1}
    usage = summary["api_usage"]
    assert (usage["calls_today"], usage["limit_today"]) == (10_000, 30_000)
    assert usage["headroom"] == 20_000 and usage["near_limit"] == ["Sales Org"]
    top = summary["top_problems"]
    assert top[0]["integration"] == "Sales Org" and top[0]["input"] == "connection"
    assert "reconnect" in top[0]["reason"]
    assert {p["input"] for p in top} >= {"connection", "errors", "quota"}
    assert [p["points"] for p in top] == sorted((p["points"] for p in top), reverse=True)


async def test_the_summary_of_a_tenant_without_integrations(services: Services,
                                                            api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "empty")
    summary = (await api.get("/integrations/integrations/health_summary/",
                             headers=bearer(key))).json()
    assert summary["integrations"] == 0 and summary["top_problems"] == []
    assert summary["api_usage"]["headroom_fraction"] is None


async def test_usage_by_hour_and_day_with_headroom(services: Services,
                                                   api: httpx.AsyncClient) -> None:
    caller, key = await make_tenant(services, "acme")
    ids = await _two(services, caller)
    async with services.db.transaction(caller.tenant_id) as session:  # as the recorder keeps it
        for row in await session.scalars(select(Integration)):
            row.api_calls_today = 9_000 if row.id == ids["salesforce"] else 1_000
    found = await api.get("/integrations/api-usage/", headers=bearer(key),
                          params={"integration": str(ids["salesforce"])})
    assert found.status_code == 200, found.text
    [sales] = found.json()
    assert sales["integration"] == "Sales Org" and sales["headroom"] == 1_000
    day = next(w for w in sales["windows"] if w["window"] == "day")
    assert (day["limit"], day["used"], day["left"], day["left_fraction"]) == (
        10_000, 9_000, 1_000, 0.1)
    [hour] = sales["hourly"]
    assert (hour["calls"], hour["errors"]) == (9_000, 12)
    everything = (await api.get("/integrations/api-usage/", headers=bearer(key))).json()
    slack = next(u for u in everything if u["integration"] == "Team Slack")
    assert [d["calls"] for d in slack["daily"]] == [500, 1_000]
    assert [h["calls"] for h in slack["hourly"]] == [1_000]
    assert not slack["per_operation"] and slack["api_calls_today"] == 1_000


async def test_usage_of_a_bad_or_foreign_integration(services: Services,
                                                     api: httpx.AsyncClient) -> None:
    theirs, _ = await make_tenant(services, "other")
    ids = await _two(services, theirs)
    _, key = await make_tenant(services, "acme")
    foreign = await api.get("/integrations/api-usage/", headers=bearer(key),
                            params={"integration": str(ids["slack"])})
    assert foreign.status_code == 404
    bad = await api.get("/integrations/api-usage/", headers=bearer(key),
                        params={"integration": "slack"})
    assert bad.status_code == 422 and "integration" in bad.json()["error"]["message"]
    assert (await api.get("/integrations/api-usage/", headers=bearer(key))).json() == []


async def test_the_summary_path_is_read_only_not_an_integration_id(
        services: Services, api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    for method in ("PATCH", "DELETE", "POST", "OPTIONS"):
        found = await api.request(method, "/integrations/integrations/health_summary/",
                                  headers=bearer(key))
        assert found.status_code == 405, (method, found.text)
        assert found.headers["allow"] == "GET"
