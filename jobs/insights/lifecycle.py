"""Findings into insight rows: one row per fingerprint, opened, reopened and resolved by
what the detectors see on each tick.

- a new condition opens an insight;
- a condition seen again refreshes its open insight (numbers, text; its embedding is
  cleared when the text changed, so it is embedded again);
- a condition that returns after it cleared reopens its insight: unread, opened again,
  ``times_opened`` up by one, and a fresh Slack warning;
- an open insight whose condition is no longer seen resolves (``resolved_by``
  "condition"); each detector's window decides when that is (docs/insights.md);
- an insight a person resolved while its condition still held stays resolved while the
  condition lasts (they know); once the condition clears, its return reopens it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jobs.insights.finding import Finding, Snapshot
from store.models import ConnectusInsight

HELD = "held_by_person"  # details flag: resolved by a person while the condition held
SLACK = "slack"  # where this opening's warning was posted (jobs/insights/warnings.py)
KEPT = (HELD, SLACK)  # details the lifecycle owns, kept when a detector's numbers change


def _fill(row: ConnectusInsight, finding: Finding) -> None:
    text = (finding.title[:200], finding.description, finding.recommendation)
    if (row.title, row.description, row.recommendation) != text:
        row.embedding = None
    row.title, row.description, row.recommendation = text
    row.insight_type, row.priority = finding.insight_type, finding.priority
    row.action_items = list(finding.action_items)
    row.integration_id = finding.integration_id
    row.details = {**finding.details, **{k: row.details[k] for k in KEPT if k in row.details}}


async def reconcile(session: AsyncSession, snap: Snapshot, findings: Iterable[Finding],
                    detectors: Iterable[str]) -> list[ConnectusInsight]:
    """Apply one tick's findings of ``detectors``; returns the insights opened or reopened."""
    now = snap.now
    rows = (await session.scalars(select(ConnectusInsight).where(
        ConnectusInsight.detector.in_(list(detectors))))).all()
    existing = {row.fingerprint: row for row in rows}
    opened = []
    for finding in findings:
        row = existing.pop(finding.fingerprint, None)
        if row is None:
            row = ConnectusInsight(tenant_id=snap.tenant_id, fingerprint=finding.fingerprint,
                                   detector=finding.detector, opened_at=now, details={},
                                   is_read=False, is_resolved=False, times_opened=1)
            session.add(row)
            opened.append(row)
        elif row.is_resolved and not row.details.get(HELD) and not finding.settled:
            row.is_resolved, row.is_read = False, False
            row.resolved_at, row.resolved_by, row.notified_at = None, None, None
            row.opened_at, row.times_opened = now, row.times_opened + 1
            row.details = {}  # the last opening's warning is not this one's
            opened.append(row)
        _fill(row, finding)
        row.last_seen_at = now
        if finding.settled and not row.is_resolved:
            row.is_resolved, row.resolved_at, row.resolved_by = True, now, "condition"
            if row in opened:
                opened.remove(row)
    for row in existing.values():
        if not row.is_resolved:
            row.is_resolved, row.resolved_at, row.resolved_by = True, now, "condition"
        elif row.details.get(HELD):
            row.details = {k: v for k, v in row.details.items() if k != HELD}
    await session.flush()
    return opened
