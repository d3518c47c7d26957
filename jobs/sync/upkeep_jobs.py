"""The upkeep runs' arq jobs and their crons, declared as data with timeouts and tries:
deletion checks (jobs/sync/deletions.py), reconciliations (jobs/sync/reconcile.py),
staleness alerts (jobs/sync/contracts.py) and the end of upkeep runs whose worker died.

A check is not retried by arq: one that failed (and recorded why) is tried again by
its scheduler once ``upkeep.RETRY_FAILED_S`` has passed.
"""

from __future__ import annotations

import uuid
from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from jobs.constants import SYNC_LEASE_S
from jobs.sync import deletions, reconcile, upkeep
from jobs.sync.contracts import alert_stale_flows
from jobs.sync.engine import new_owner
from jobs.sync.jobs import flow_tenant
from store.models import SyncRun

DELETIONS_JOB = "check_flow_deletions"
RECONCILE_JOB = "reconcile_flow"
UPKEEP_JOB_TIMEOUT_S = 2 * 3600
EVERY_5_MIN = set(range(0, 60, 5))


def _answer(run: SyncRun | None, flow_id: str) -> dict[str, Any]:
    if run is None:
        return {"status": "busy", "data_flow": flow_id}
    return {"status": run.status, "run_id": str(run.id), "records_deleted": run.records_deleted,
            "records_written": run.records_written, "summary": run.summary, "error": run.error}


async def _run(ctx: dict[str, Any], flow_id: str, check: Any) -> dict[str, Any]:
    flow = uuid.UUID(flow_id)
    tenant_id = await flow_tenant(ctx["db"], flow)
    if tenant_id is None:
        return {"status": "gone", "data_flow": flow_id}
    run = await check(ctx["db"], ctx["vault"], ctx["redis"], tenant_id, flow,
                      owner=new_owner(), lease_s=float(ctx.get("sync_lease_s", SYNC_LEASE_S)),
                      allow_private=bool(ctx.get("allow_private", False)),
                      attempts=ctx.get("sync_attempts"))
    return _answer(run, flow_id)


async def check_flow_deletions(ctx: dict[str, Any], flow_id: str) -> dict[str, Any]:
    """One deletion check of the flow (or 'busy' while it syncs)."""
    return await _run(ctx, flow_id, deletions.check_deletions)


async def reconcile_flow(ctx: dict[str, Any], flow_id: str) -> dict[str, Any]:
    """One reconciliation of the flow against the provider's total (or 'busy')."""
    return await _run(ctx, flow_id, reconcile.reconcile)


async def schedule_deletion_checks(ctx: dict[str, Any]) -> int:
    found = await upkeep.due(ctx["db"], deletions.TRIGGER, deletions.every,
                             deletions.can_check)
    return await upkeep.enqueue_due(ctx["redis"], DELETIONS_JOB, found)


async def schedule_reconciliations(ctx: dict[str, Any]) -> int:
    found = await upkeep.due(ctx["db"], reconcile.TRIGGER, reconcile.every,
                             reconcile.can_reconcile)
    return await upkeep.enqueue_due(ctx["redis"], RECONCILE_JOB, found)


JOBS: tuple[Function, ...] = (
    func(check_flow_deletions, name=DELETIONS_JOB, timeout=UPKEEP_JOB_TIMEOUT_S, max_tries=1),
    func(reconcile_flow, name=RECONCILE_JOB, timeout=UPKEEP_JOB_TIMEOUT_S, max_tries=1),
)
CRON_JOBS: tuple[CronJob, ...] = (
    cron(schedule_deletion_checks, minute=EVERY_5_MIN, second=20, unique=True, timeout=120),
    cron(schedule_reconciliations, minute=EVERY_5_MIN, second=40, unique=True, timeout=120),
    cron(alert_stale_flows, minute=EVERY_5_MIN, second=50, unique=True, timeout=120),
    cron(upkeep.end_abandoned, second={15, 45}, unique=True, timeout=60),
)
