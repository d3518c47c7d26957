"""What a failed run becomes, by the failure taxonomy (``store.errors.classify_failure``).

    quota exhausted        -> paused at its checkpoint, resumed at the reset
    transient, tries left  -> released (lease given up) and retried after a backoff
    transient, no tries    -> failed
    config                 -> failed; ``error`` carries what a person must do, and the
                              flow is set to 'error' until they do (flow_status.py)
    system (a bug)         -> failed, and the bug propagates

Every one leaves a health-log row classed by kind, so the health score and the
agent read the same story as the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.errors import QuotaExhausted
from jobs.constants import SYNC_MAX_TRIES, SYNC_RETRY_BASE_S
from jobs.sync import runs
from jobs.sync.flow_status import stop_flow
from store.db import Database
from store.errors import classify_failure
from store.models import DataFlow, HealthLog, SyncRun


@dataclass(frozen=True)
class Settled:
    status: str  # paused | retry | failed | lost
    message: str = ""
    retry_in: float | None = None
    resume_at: datetime | None = None


async def settle(db: Database, run: SyncRun, owner: str, error: BaseException, *,
                 job_try: int, max_tries: int = SYNC_MAX_TRIES) -> Settled:
    if isinstance(error, runs.LeaseLost):
        return Settled("lost", "another worker took the run over")
    failure = classify_failure(error)
    if isinstance(error, QuotaExhausted) and error.resets_at is not None:
        await runs.release(db, run, owner, status="paused", error=failure.message,
                           summary={"resumes_at": error.resets_at.isoformat()})
        await _log(db, run, "warning", failure.code, failure.message, failure.kind,
                   failure.action)
        return Settled("paused", failure.message, resume_at=error.resets_at)
    if failure.retryable and job_try < max_tries:
        wait = failure.retry_after or SYNC_RETRY_BASE_S * 2 ** (job_try - 1)
        # 'running' and held until the retry is due; then the retry (or the sweep) takes it
        await runs.release(db, run, owner, status="running", error=failure.message,
                           hold_s=wait)
        await _log(db, run, "warning", failure.code, failure.message, failure.kind,
                   failure.action)
        return Settled("retry", failure.message, retry_in=wait)
    message = f"{failure.message}. {failure.action}"
    current = await runs.load(db, run.tenant_id, run.id)
    try:
        await runs.finish(db, current, owner, status="failed", error=message,
                          summary={"failure": failure.kind, "code": failure.code})
    except runs.LeaseLost:
        return Settled("lost", "another worker took the run over")
    if failure.kind == "config":
        await stop_flow(db, run)
    await _log(db, run, "error" if failure.kind != "system" else "critical", failure.code,
               message, failure.kind, failure.action)
    return Settled("failed", message)


async def _log(db: Database, run: SyncRun, severity: str, code: str, message: str, kind: str,
               action: str) -> None:
    async with db.transaction(run.tenant_id) as session:
        flow = await session.get(DataFlow, run.data_flow_id)
        session.add(HealthLog(
            tenant_id=run.tenant_id, integration_id=flow.integration_id if flow else None,
            severity=severity, category=f"sync_{code}"[:40], message=message,
            details={"kind": kind, "action": action, "sync_run_id": str(run.id),
                     "data_flow_id": str(run.data_flow_id)}))
