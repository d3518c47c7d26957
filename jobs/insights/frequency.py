"""Sync-frequency advice from what the flow's runs found and what they cost.

A flow whose runs of the past week almost never found a change syncs a step less often
(hourly -> daily -> weekly), saving its calls; a daily flow whose every run found changes,
on an integration with quota to spare, syncs hourly for fresher data. Only runs since the
flow was last changed count, so one change is judged on its own runs. Where the tenant
turned on ``auto_tune_frequency`` the change is made by itself, with an audit entry saying
what changed and why, and the insight is stored resolved (nothing is left to do).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.flow_schedule import next_run_at
from jobs.insights.finding import GOOD, WINDOW, Finding, Snapshot
from store.models import AuditLog, DataFlow

SLOWER = {"hourly": ("daily", 24), "daily": ("weekly", 7)}  # to, runs that make a judgement
RUNS_PER_DAY = {"hourly": 24, "daily": 1, "weekly": 1 / 7}
MAX_CHANGED_SHARE = 0.1
FASTER_MIN_RUNS = 5
HEADROOM = 0.5  # a faster flow may use at most half the daily limit's calls


def _changed(run: object) -> bool:
    return bool(getattr(run, "records_written", 0) or getattr(run, "records_deleted", 0))


def _calls_per_run(snap: Snapshot, integration_id: uuid.UUID) -> float:
    calls = sum(c for c, _ in snap.usage.get(integration_id, {}).values())
    runs = sum(len(snap.runs.get(f.id, [])) for f in snap.flows
               if f.integration_id == integration_id)
    return calls / runs if runs else 0.0


def _advice(snap: Snapshot, flow: DataFlow) -> tuple[str, str, float] | None:
    """(new frequency, why, calls saved a day: negative when it costs more)."""
    if flow.status != "active" or flow.direction != "inbound":
        return None
    since = max(snap.now - WINDOW, flow.updated_at)
    runs = [r for r in snap.runs_since(flow.id, since) if r.status in GOOD]
    per_run = _calls_per_run(snap, flow.integration_id)
    changed = sum(1 for r in runs if _changed(r))
    if flow.sync_frequency in SLOWER:
        to, enough = SLOWER[flow.sync_frequency]
        if len(runs) >= enough and changed <= len(runs) * MAX_CHANGED_SHARE:
            saved = (RUNS_PER_DAY[flow.sync_frequency] - RUNS_PER_DAY[to]) * per_run
            return to, (f"{changed} of its last {len(runs)} runs found any change, at about "
                        f"{per_run:.0f} API calls a run"), saved
    if flow.sync_frequency == "daily" and len(runs) >= FASTER_MIN_RUNS and changed == len(runs):
        integration = snap.integration(flow)
        extra = (RUNS_PER_DAY["hourly"] - 1) * per_run
        limit = integration.daily_limit if integration else None
        if limit is None or extra <= limit * HEADROOM:
            return "hourly", (f"each of its last {len(runs)} daily runs found changes, and "
                              f"{extra:.0f} more calls a day fit the quota"), -extra
    return None


def frequency_advice(snap: Snapshot) -> list[Finding]:
    found = []
    for flow in snap.flows:
        advice = _advice(snap, flow)
        if advice is None:
            continue
        to, why, saved = advice
        cost = (f"saves about {saved:.0f} API calls a day" if saved >= 0
                else f"costs about {-saved:.0f} more API calls a day")
        found.append(Finding(
            detector="sync_frequency", subject=str(flow.id), integration_id=flow.integration_id,
            insight_type="optimization", priority="low",
            title=f"Sync {flow.name!r} {to} instead of {flow.sync_frequency}",
            description=f"{why.capitalize()}; syncing {to} {cost}.",
            recommendation=f"Set the flow's sync_frequency to {to!r}.",
            action_items=(f"PATCH /integrations/data-flows/{flow.id}/ with "
                          f'{{"sync_frequency": "{to}"}}',),
            details={"flow_id": str(flow.id), "flow": flow.name, "from": flow.sync_frequency,
                     "to": to,
                     "why": why, "calls_saved_per_day": round(saved)}))
    return found


async def apply_advice(session: AsyncSession, snap: Snapshot, finding: Finding) -> Finding:
    """Make the change the finding advises, with its audit entry; the finding settled."""
    flow_id = uuid.UUID(finding.details["flow_id"])
    before, after = finding.details["from"], finding.details["to"]
    now: datetime = snap.now
    changed = await session.scalar(
        update(DataFlow).where(DataFlow.id == flow_id, DataFlow.sync_frequency == before)
        .values(sync_frequency=after, next_run_at=next_run_at(after, {}, now))
        .returning(DataFlow.id).execution_options(synchronize_session=False))
    if changed is None:  # someone changed it meanwhile: leave it as advice
        return finding
    session.add(AuditLog(tenant_id=snap.tenant_id, user_id=None,
                         action="data_flow.frequency_tuned", target_type="data_flow",
                         target_id=str(flow_id),
                         details={"from": before, "to": after, "why": finding.details["why"],
                                  "calls_saved_per_day": finding.details["calls_saved_per_day"],
                                  "by": "insight jobs (auto_tune_frequency)"}))
    return dataclasses.replace(
        finding, settled=True,
        title=f"Sync {finding.details['flow']!r} changed from {before} to {after}",
        description=f"{finding.description} Changed automatically (auto_tune_frequency).",
        details={**finding.details, "applied_at": now.isoformat()})
