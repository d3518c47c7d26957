"""/metrics in Prometheus' text format: request latency by route template (never the raw
path), and what the workers did, read from PostgreSQL and Redis at scrape time: the queue
while a sync waits, its records, runs and provider calls (429s among them) once a worker
in another process's place ran it. Optionally behind a bearer token."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from connectors.sandbox.kit.faults import Faults
from store.models import ApiUsage
from tests.jobs.conftest import make_flow
from tests.queued_jobs import run_queued_jobs
from tools.context import Services
from ui.api.app import create_app


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def scrape(api: httpx.AsyncClient, **headers: str) -> dict[tuple[str, Any], float]:
    """Every sample: (name, sorted labels) -> value."""
    response = await api.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


async def test_metrics_follow_a_sync_from_queue_to_records(
        services: Services, api: httpx.AsyncClient, sandbox: Any, redis_url: str) -> None:
    flow = await make_flow(services, sandbox.url, contacts=250, sandbox=sandbox)
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_429=0.4, retry_after_s=0))
    started = await api.post(f"/integrations/integrations/{flow.integration.id}/sync_now/",
                             headers=_auth(flow.key))
    assert started.status_code == 202
    queued = await scrape(api)
    assert queued[("connectus_queue_depth", ())] == 1
    assert queued[("connectus_sync_runs_total", (("provider", "hubspot"),
                                                 ("status", "queued")))] == 1

    await run_queued_jobs(services, redis_url)
    done = await scrape(api)
    hubspot = ("provider", "hubspot")
    assert done[("connectus_queue_depth", ())] == 0
    assert done[("connectus_sync_runs_total", (hubspot, ("status", "succeeded")))] == 1
    assert done[("connectus_sync_records_total", (("outcome", "written"), hubspot))] == 250
    assert done[("connectus_sync_records_total", (("outcome", "read"), hubspot))] == 250
    async with services.db.session(flow.caller.tenant_id) as session:
        calls, limited = (await session.execute(
            select(func.sum(ApiUsage.calls), func.sum(ApiUsage.rate_limited)))).one()
    assert limited >= 1  # the sandbox answered some calls 429, and the sync got through
    assert done[("connectus_provider_calls_total", (hubspot,))] == calls >= 3
    assert done[("connectus_provider_rate_limited_total", (hubspot,))] == limited

    template = "/integrations/integrations/{integration_id}/sync_now/"
    timed = {labels for (name, labels), _ in done.items()
             if name == "connectus_http_request_duration_seconds_count"}
    assert (("method", "POST"), ("route", template), ("status", "202")) in timed
    assert not any(str(flow.integration.id) in str(labels) for labels in timed)
    await api.get(f"/integrations/no-such-thing/{flow.integration.id}/")
    unmatched = await scrape(api)
    assert unmatched[("connectus_http_request_duration_seconds_count",
                      (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] >= 1


async def test_a_metrics_token_is_asked_for_when_set(services: Services) -> None:
    token = "a-scrape-token-of-some-length"
    guarded = dataclasses.replace(services, settings=dataclasses.replace(
        services.settings, metrics_token=token))
    transport = httpx.ASGITransport(app=create_app(guarded))
    async with httpx.AsyncClient(transport=transport, base_url="http://connectus.test") as api:
        refused = await api.get("/metrics")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == \
            "unauthenticated"
        assert (await api.get("/metrics", headers=_auth("wrong"))).status_code == 401
        assert "connectus_queue_depth" in (await api.get("/metrics",
                                                         headers=_auth(token))).text
