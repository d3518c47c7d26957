"""Things that stop a provider talking to us before anything fails: tokens about to
expire (or expired, or an integration that needs reconnecting), and webhook triggers gone
quiet against their own delivery rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.insights.detectors.links import reconnect
from jobs.insights.finding import Finding, Snapshot

WARN_AHEAD = timedelta(hours=72)
QUIET_MIN = timedelta(hours=6)
QUIET_GAPS = 4  # silent for this many of its usual gaps between deliveries
MIN_DELIVERIES = 10  # in the baseline week, before a trigger has a rate
WEEK = timedelta(days=7)


def token_expiry(snap: Snapshot) -> list[Finding]:
    found = []
    for integration in snap.integrations.values():
        expires = (datetime.fromtimestamp(integration.token_expires_at, UTC)
                   if integration.token_expires_at else None)
        broken = integration.status == "reconnect_needed"
        if not broken and (expires is None or integration.renews_itself
                           or expires - snap.now > WARN_AHEAD):
            continue
        if broken:
            title = f"{integration.name} needs reconnecting"
            said = (f"Its credentials were refused: \"{(integration.last_error or '')[:200]}\""
                    if integration.last_error else "Its credentials were refused.")
        elif expires is not None and expires <= snap.now:
            title, said = (f"{integration.name}'s access token has expired",
                           f"It expired at {expires:%Y-%m-%d %H:%M} UTC and cannot renew "
                           "itself; every sync and action on it fails until it is reconnected.")
        else:
            assert expires is not None
            hours = (expires - snap.now).total_seconds() / 3600
            title, said = (f"{integration.name}'s access token expires in {hours:.0f} hours",
                           f"It expires at {expires:%Y-%m-%d %H:%M} UTC and has no refresh "
                           "token, so it cannot renew itself.")
        found.append(Finding(
            detector="token_expiry", subject=str(integration.id), integration_id=integration.id,
            insight_type="warning" if not broken and expires and expires > snap.now else "error",
            priority="high" if not broken and expires and expires > snap.now else "critical",
            title=title, description=said,
            recommendation="Reconnect the integration so it gets a fresh token.",
            action_items=(reconnect(integration),),
            details={"expires_at": expires.isoformat() if expires else None,
                     "status": integration.status}))
    return found


def quiet_triggers(snap: Snapshot) -> list[Finding]:
    found = []
    for workflow in snap.workflows:
        event = workflow.trigger_event or ""
        stats = snap.events.get((workflow.integration_id, event))
        if stats is None or stats.count < MIN_DELIVERIES:
            continue
        gap = WEEK / stats.count
        silent = snap.now - stats.last_at
        if silent <= max(QUIET_MIN, gap * QUIET_GAPS):
            continue
        integration = snap.integrations.get(workflow.integration_id)
        source = integration.name if integration else "its integration"
        hours = silent.total_seconds() / 3600
        found.append(Finding(
            detector="quiet_trigger", subject=str(workflow.id),
            integration_id=workflow.integration_id, insight_type="warning", priority="medium",
            title=f"Workflow {workflow.name!r} has not been triggered for {hours:.0f} hours",
            description=(f"{source} sent {stats.count} {event!r} events in the past week, about "
                         f"one every {gap.total_seconds() / 60:.0f} minutes; none since "
                         f"{stats.last_at:%Y-%m-%d %H:%M} UTC."),
            recommendation=(f"Check that {source}'s webhook subscription still exists and "
                            "points at Connectus, and that deliveries are not being rejected."),
            action_items=(f"GET /integrations/workflows/{workflow.id}/runs/",),
            details={"workflow_id": str(workflow.id), "event": event,
                     "deliveries_past_week": stats.count,
                     "last_delivery_at": stats.last_at.isoformat()}))
    return found
