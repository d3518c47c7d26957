"""Flows that stopped keeping up: stale flows (no good run for twice their interval) and
record volume far off the flow's own baseline (the median of its recent runs)."""

from __future__ import annotations

import statistics
from datetime import timedelta

from jobs.insights.detectors.links import flow_runs
from jobs.insights.finding import GOOD, WINDOW, Finding, Snapshot
from jobs.sync.contracts import staleness_limit
from store.models import DataFlow

VERY_STALE = 3  # times the flow's staleness limit: a high priority
VOLUME_FACTOR = 5  # the last run read 5x more or less than its median
MIN_VOLUME = 20  # a median under this is too small to judge
MIN_RUNS = 5  # earlier runs that make a baseline


def _schedule(flow: DataFlow) -> str:
    cron = (flow.schedule or {}).get("cron")
    return f"cron {cron!r} {flow.schedule.get('timezone', 'UTC')}" if cron \
        else flow.sync_frequency


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def stale_flows(snap: Snapshot) -> list[Finding]:
    found = []
    for flow in snap.flows:
        if flow.status != "active":
            continue
        since = snap.last_good.get(flow.id) or flow.created_at
        limit = staleness_limit(flow, since)  # the rule the health score and alerts use
        behind = snap.now - since
        if limit is None or behind <= limit:
            continue
        found.append(Finding(
            detector="stale_flow", subject=str(flow.id), integration_id=flow.integration_id,
            insight_type="warning",
            priority="high" if behind > limit * VERY_STALE else "medium",
            title=f"Flow {flow.name!r} is stale",
            description=(f"No successful run for {_hours(behind)}; it may go at most "
                         f"{_hours(limit)} without one ({_schedule(flow)})."),
            recommendation="Check that a worker is running and the flow's runs succeed; "
                           "run it now to catch up.",
            action_items=(flow_runs(flow.id),),
            details={"flow_id": str(flow.id), "behind_s": int(behind.total_seconds()),
                     "limit_s": int(limit.total_seconds())}))
    return found


def record_volume(snap: Snapshot) -> list[Finding]:
    found = []
    for flow in snap.flows:
        runs = [r for r in snap.runs_since(flow.id, snap.now - WINDOW) if r.status in GOOD]
        if len(runs) < MIN_RUNS + 1:
            continue
        *earlier, last = runs
        median = statistics.median(r.records_read for r in earlier)
        if median < MIN_VOLUME:
            continue
        ratio = last.records_read / median
        if 1 / VOLUME_FACTOR < ratio < VOLUME_FACTOR:
            continue
        way = "far fewer" if ratio < 1 else "far more"
        found.append(Finding(
            detector="record_volume", subject=str(flow.id), integration_id=flow.integration_id,
            insight_type="warning", priority="medium",
            title=f"Flow {flow.name!r} moved {way} records than usual",
            description=(f"The last run read {last.records_read} records; its runs of the "
                         f"past week read a median of {median:g}."),
            recommendation=("Check the source: a filter, a permission or an empty export can "
                            "hide records" if ratio < 1 else
                            "Check the source for a bulk import or duplicated records"),
            action_items=(flow_runs(flow.id),),
            details={"flow_id": str(flow.id), "last": last.records_read, "median": median}))
    return found
