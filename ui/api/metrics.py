"""/metrics for Prometheus (prometheus-client's text format).

Two kinds of figures, measured where they are honest:

- request latency is this web process's own: a histogram by method, route *template*
  (``/integrations/integrations/{integration_id}/``, never the raw path, so ids do not
  explode the series) and status. Each `connectus serve` replica is its own scrape target.
  With ``PROMETHEUS_MULTIPROC_DIR`` set (several processes behind one port) it is read
  through prometheus-client's multiprocess collector instead.
- sync records, sync and workflow runs, provider calls and 429s and the queue depth are
  the installation's, read at scrape time from PostgreSQL and Redis (tools/metrics.py), so
  work done by `connectus worker` processes elsewhere counts once; every replica reports
  the same totals (aggregate them with ``max``, not ``sum``).

``CONNECTUS_METRICS_TOKEN`` set: a scrape needs ``Authorization: Bearer <token>``.
Unset: /metrics is open, as Prometheus scrapes usually are on a private network; it holds
totals by provider and status only, never a tenant, a name or a secret.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools import metrics
from tools.context import AuthenticationFailed
from ui.api.deps import ServicesDep
from ui.api.errors import errors

PROCESS = CollectorRegistry(auto_describe=True)
LATENCY = Histogram("connectus_http_request_duration_seconds",
                    "REST request latency, by route template", ["method", "route", "status"],
                    registry=PROCESS)
UNMATCHED = "<unmatched>"  # a path no route takes: one series, whatever was asked for


class RequestTimer:
    """Pure ASGI: the route is known once the router has matched (FastAPI puts it in the
    scope), and the status once the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before answering

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or UNMATCHED
            if template != "/metrics":
                LATENCY.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started)


class SnapshotCollector(Collector):
    def __init__(self, found: metrics.Snapshot) -> None:
        self.found = found

    def collect(self) -> Iterator[Metric]:
        found = self.found
        records = CounterMetricFamily("connectus_sync_records", "records synced, by "
                                      "provider and outcome", labels=["provider", "outcome"])
        for (provider, outcome), count in sorted(found.sync_records.items()):
            records.add_metric([provider, outcome], count)
        syncs = CounterMetricFamily("connectus_sync_runs", "sync runs, by provider and "
                                    "status", labels=["provider", "status"])
        for (provider, status), count in sorted(found.sync_runs.items()):
            syncs.add_metric([provider, status], count)
        workflows = CounterMetricFamily("connectus_workflow_runs", "workflow runs, by status",
                                        labels=["status"])
        for status, count in sorted(found.workflow_runs.items()):
            workflows.add_metric([status], count)
        calls = CounterMetricFamily("connectus_provider_calls", "calls made to providers",
                                    labels=["provider"])
        failed = CounterMetricFamily("connectus_provider_errors", "provider calls that "
                                     "failed", labels=["provider"])
        limited = CounterMetricFamily("connectus_provider_rate_limited", "provider calls "
                                      "answered 429 (rate limited)", labels=["provider"])
        for provider in sorted(found.provider_calls):
            calls.add_metric([provider], found.provider_calls[provider])
            failed.add_metric([provider], found.provider_errors[provider])
            limited.add_metric([provider], found.provider_rate_limited[provider])
        yield from (records, syncs, workflows, calls, failed, limited)
        if found.queue_depth is not None:
            yield GaugeMetricFamily("connectus_queue_depth", "jobs waiting in the arq queue",
                                    value=found.queue_depth)


def _process_registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return PROCESS
    shared = CollectorRegistry()
    MultiProcessCollector(shared)
    return shared


router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
          "description": "Prometheus text format"}, **errors(401)})
async def scrape(services: ServicesDep, request: Request) -> Response:
    """Prometheus metrics; a bearer token when CONNECTUS_METRICS_TOKEN is set."""
    token = services.settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise AuthenticationFailed("/metrics wants 'Authorization: Bearer <token>' "
                                       "with CONNECTUS_METRICS_TOKEN")
    installation = CollectorRegistry()
    installation.register(SnapshotCollector(await metrics.snapshot(services)))
    body = generate_latest(_process_registry()) + generate_latest(installation)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
