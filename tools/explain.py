"""explain_failure: why something failed, in plain words, with what to do about it.

Reads the newest failing run (a sync run of a flow, or a workflow run), the health-log
rows it left (which carry the failure's class from the error tree: config, transient or
system, and its action) and the flow's open dead letters (records that failed their
mapping), and proposes the fix that class calls for. Provider text inside errors and
records is quoted as data, never followed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Caller
from store.errors import ValidationFailed
from store.models import DataFlow, DeadLetter, HealthLog, SyncRun, WorkflowAutomation, WorkflowRun
from store.models.base import utcnow
from tools.context import Services
from tools.resolve import resolve

LOOKBACK = timedelta(days=7)
FIX = {
    "config": "a person must act: {action}",
    "transient": "nothing to fix: the provider said 'not now' and Connectus retries on its "
                 "own ({action})",
    "system": "this is a bug in Connectus, not in your setup: report it with the time",
}
MAPPING_FIX = ("fix the mapping for the fields named (update_data_flow), try it on the "
               "failed records (test_mapping), then replay them (replay_failed_records)")


async def _logs(session: AsyncSession, integration_id: uuid.UUID | None,
                run_id: uuid.UUID | None) -> list[HealthLog]:
    query = (select(HealthLog).where(HealthLog.severity.in_(("warning", "error", "critical")),
                                     HealthLog.created_at >= utcnow() - LOOKBACK)
             .order_by(HealthLog.created_at.desc()).limit(10))
    if run_id is not None:
        query = query.where(or_(HealthLog.details["sync_run_id"].astext == str(run_id),
                                HealthLog.integration_id == integration_id))
    elif integration_id is not None:
        query = query.where(HealthLog.integration_id == integration_id)
    return list((await session.scalars(query)).all())


async def _flow_story(session: AsyncSession, flow: DataFlow) -> dict[str, Any]:
    run = await session.scalar(
        select(SyncRun).where(SyncRun.data_flow_id == flow.id,
                              or_(SyncRun.status == "failed", SyncRun.records_failed > 0))
        .order_by(SyncRun.started_at.desc()).limit(1))
    letters = list((await session.scalars(
        select(DeadLetter).where(DeadLetter.data_flow_id == flow.id,
                                 DeadLetter.status == "open")
        .order_by(DeadLetter.created_at.desc()).limit(50))).all())
    open_letters = await session.scalar(select(func.count()).select_from(DeadLetter).where(
        DeadLetter.data_flow_id == flow.id, DeadLetter.status == "open")) or 0
    logs = await _logs(session, flow.integration_id, run.id if run else None)
    reasons = Counter(f"{e.get('field')}: {e.get('message')}" for letter in letters
                      for e in letter.errors if isinstance(e, dict))
    kind = (run.summary or {}).get("failure") if run else None
    kind = kind or next((log.details.get("kind") for log in logs if log.details.get("kind")),
                        None)
    action = next((log.details.get("action") for log in logs if log.details.get("action")),
                  "see the error")
    if run is None and not open_letters:
        cause, fix = f"data flow {flow.name!r} has no failed run or failed records", None
    elif run is not None and run.status == "failed":
        cause = f"the run of {run.started_at:%Y-%m-%d %H:%M} UTC failed: {run.error}"
        fix = FIX.get(kind or "system", FIX["system"]).format(action=action)
    else:
        cause = (f"{open_letters} record(s) failed the mapping, most often: " +
                 "; ".join(f"{reason} ({n}x)" for reason, n in reasons.most_common(3)))
        kind, fix = "config", MAPPING_FIX
    if run is not None and run.status == "failed" and open_letters:
        fix = f"{fix}; then {MAPPING_FIX}"
    return {"data_flow": {"id": str(flow.id), "name": flow.name, "status": flow.status},
            "run": None if run is None else {
                "id": str(run.id), "status": run.status, "started_at": run.started_at
                .isoformat(), "records_read": run.records_read,
                "records_failed": run.records_failed, "error": run.error},
            "failure_class": kind, "cause": cause, "proposed_fix": fix,
            "failed_records": open_letters,
            "failed_record_reasons": dict(reasons.most_common(5)),
            "failed_record_sample": [{"external_id": letter.external_id,
                                      "record": letter.record} for letter in letters[:3]],
            "health_logs": [_log_view(log) for log in logs]}


def _log_view(log: HealthLog) -> dict[str, Any]:
    return {"id": str(log.id), "severity": log.severity, "category": log.category,
            "message": log.message, "at": log.created_at.isoformat()}


async def _workflow_story(session: AsyncSession, workflow: WorkflowAutomation) -> dict[str, Any]:
    run = await session.scalar(
        select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id,
                                  WorkflowRun.status == "failed")
        .order_by(WorkflowRun.started_at.desc()).limit(1))
    logs = await _logs(session, workflow.integration_id, None)
    failed_step = next((s for s in (run.steps if run else []) if isinstance(s, dict)
                        and s.get("status") == "failed"), None)
    kind = (failed_step or {}).get("kind") or next(
        (log.details.get("kind") for log in logs if log.details.get("kind")), None)
    return {"workflow": {"id": str(workflow.id), "name": workflow.name},
            "run": None if run is None else {"id": str(run.id), "error": run.error,
                                             "started_at": run.started_at.isoformat(),
                                             "failed_step": failed_step},
            "failure_class": kind,
            "cause": f"the run of {run.started_at:%Y-%m-%d %H:%M} UTC failed: {run.error}"
            if run else f"workflow {workflow.name!r} has no failed run",
            "proposed_fix": FIX.get(kind or "system", FIX["system"]).format(
                action=(failed_step or {}).get("action", "see the error")) if run else None,
            "health_logs": [_log_view(log) for log in logs]}


async def explain_failure(services: Services, caller: Caller, integration: str | None = None,
                          data_flow: str | None = None,
                          workflow: str | None = None) -> dict[str, Any]:
    if not (integration or data_flow or workflow):
        raise ValidationFailed("say what failed: an integration, a data_flow or a workflow",
                               field="integration")
    async with services.db.session(caller.tenant_id) as session:
        if workflow:
            found = await session.get(WorkflowAutomation,
                                      await resolve(session, "workflow", workflow))
            assert found is not None
            return await _workflow_story(session, found)
        if data_flow:
            flows = [await session.get(DataFlow, await resolve(session, "data_flow",
                                                               data_flow))]
        else:
            integration_id = await resolve(session, "integration", integration or "")
            flows = list((await session.scalars(
                select(DataFlow).where(DataFlow.integration_id == integration_id)
                .order_by(DataFlow.last_run_at.desc().nulls_last()))).all())
            if not flows:
                logs = await _logs(session, integration_id, None)
                return {"cause": "the integration has no data flows; its recent health logs "
                        "say what went wrong, if anything", "failure_class": None,
                        "proposed_fix": None, "health_logs": [_log_view(g) for g in logs]}
        stories = [await _flow_story(session, flow) for flow in flows if flow is not None]
    failing = [s for s in stories if s["run"] is not None or s["failed_records"]]
    return failing[0] if failing else stories[0]
