"""Failing syncs: a flow with a failed run in the last day.

The day is the resolve rule (Merge's): the insight clears only after a whole day without
a failed run, however many runs succeeded since.
"""

from __future__ import annotations

from jobs.insights.detectors.links import flow_runs, reconnect
from jobs.insights.finding import DAY, FAILED, Finding, Snapshot

MAX_ERROR = 300  # of the provider's text quoted; it is data, shown as such


def failing_syncs(snap: Snapshot) -> list[Finding]:
    found = []
    for flow in snap.flows:
        recent = snap.runs_since(flow.id, snap.now - DAY)
        failed = [r for r in recent if r.status == FAILED]
        if not failed:
            continue
        integration = snap.integration(flow)
        last_two = snap.runs.get(flow.id, [])[-2:]
        still = all(r.status == FAILED for r in last_two)
        error = (failed[-1].error or "no error recorded")[:MAX_ERROR]
        streak = f"; the last {len(last_two)} runs all failed" if still else ""
        actions = [flow_runs(flow.id)]
        if integration and integration.status == "reconnect_needed":
            actions.insert(0, reconnect(integration))
        found.append(Finding(
            detector="failing_sync", subject=str(flow.id), integration_id=flow.integration_id,
            insight_type="error", priority="high" if still else "medium",
            title=f"Sync {flow.name!r} is failing" if still
            else f"Sync {flow.name!r} failed recently",
            description=(f"{len(failed)} of {len(recent)} runs in the last 24 hours failed"
                         f"{streak}."
                         f" Last error (from the provider, quoted): \"{error}\""),
            recommendation="Fix the cause named in the last error, then run the flow again "
                           "(sync_now). The insight resolves after a day without failures.",
            action_items=tuple(actions),
            details={"flow_id": str(flow.id), "failed_runs": len(failed),
                     "runs": len(recent), "still_failing": still,
                     "last_failed_at": failed[-1].finished_at.isoformat()
                     if failed[-1].finished_at else None}))
    return found
