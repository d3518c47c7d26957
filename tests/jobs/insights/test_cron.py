"""The insight cron: registered on every worker, it ticks each tenant over its own rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.insights.jobs import run_insights
from jobs.worker import build_worker
from tests.jobs.insights.kit import make_history
from tools.context import Services


def test_every_worker_runs_the_insight_cron(services: Services) -> None:
    worker = build_worker(services.settings.redis_url or "", {}, handle_signals=False)
    names = {job.name for job in worker.cron_jobs}
    assert "insights" in names


async def test_each_tenant_gets_insights_about_its_own_flows(services: Services) -> None:
    now = datetime.now(UTC)
    histories = [await make_history(services, slug=slug) for slug in ("acme", "globex")]
    for history in histories:
        flow = await history.flow(f"{history.caller.email} flow", frequency="manual")
        await history.runs(flow, [now - timedelta(minutes=10)], status="failed")

    totals = await run_insights(histories[0].ctx())

    assert totals["tenants"] == 2 and totals["opened"] == 2 and totals["failed"] == 0
    for history in histories:
        insight = await history.only("failing_sync")
        assert insight.details["flow_id"] == str(next(iter(history.flows.values())).id)
        assert history.caller.email in insight.title
