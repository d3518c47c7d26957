"""The insight cron: every few minutes, for each tenant, read its history once, run every
detector, apply frequency advice where the tenant allows it, reconcile the insights and
post the Slack warnings due. Declared as data with its timeout, like every job."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq import cron
from arq.cron import CronJob
from sqlalchemy import select

from jobs.constants import INSIGHTS_EVERY_MIN, INSIGHTS_TIMEOUT_S
from jobs.insights.detectors import DETECTORS
from jobs.insights.finding import Finding
from jobs.insights.frequency import apply_advice
from jobs.insights.lifecycle import reconcile
from jobs.insights.snapshot import load_snapshot
from jobs.insights.warnings import send_warnings
from store.errors import ConnectusError
from store.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickResult:
    findings: int
    opened: int
    warned: int


async def insights_for(ctx: dict[str, Any], tenant_id: uuid.UUID,
                       now: datetime | None = None) -> TickResult:
    """One tenant's tick. ``now`` lets a test place the tick in a constructed history."""
    now = now or datetime.now(UTC)
    async with ctx["db"].transaction(tenant_id) as session:
        snap = await load_snapshot(session, ctx["vault"], tenant_id, now)
        findings: list[Finding] = []
        for name, detect in DETECTORS.items():
            for finding in detect(snap):
                if finding.detector == "sync_frequency" and snap.auto_tune:
                    finding = await apply_advice(session, snap, finding)
                findings.append(finding)
            log.debug("detector %s ran for tenant %s", name, tenant_id)
        opened = await reconcile(session, snap, findings, DETECTORS)
    warned = 0
    try:
        warned = await send_warnings(ctx, tenant_id)
    except ConnectusError as exc:  # Slack unreachable or refusing: next tick tries again
        log.warning("insight warnings for tenant %s not sent: %s", tenant_id, exc.message)
    return TickResult(len(findings), len(opened), warned)


async def run_insights(ctx: dict[str, Any]) -> dict[str, int]:
    """Every tenant's tick; one tenant's failure does not stop the others'."""
    async with ctx["db"].transaction(None) as session:
        tenants = list((await session.scalars(select(Tenant.id))).all())
    totals = {"tenants": len(tenants), "findings": 0, "opened": 0, "warned": 0, "failed": 0}
    for tenant_id in tenants:
        try:
            result = await insights_for(ctx, tenant_id)
        except ConnectusError as exc:
            totals["failed"] += 1
            log.warning("insights for tenant %s failed: %s", tenant_id, exc.message)
            continue
        totals["findings"] += result.findings
        totals["opened"] += result.opened
        totals["warned"] += result.warned
    if totals["opened"] or totals["warned"] or totals["failed"]:
        log.info("insights: %s", totals)
    return totals


CRON_JOBS: tuple[CronJob, ...] = (
    cron(run_insights, name="insights", minute=set(range(0, 60, INSIGHTS_EVERY_MIN)),
         second={15}, unique=True, run_at_startup=False, timeout=INSIGHTS_TIMEOUT_S),
)
