"""Schedule and condition triggers, fired by arq crons on any number of workers.

Schedule: every ``WORKFLOW_TICK_EVERY_S`` a tick takes the workflows due before the next
tick, makes each fire's run (keyed ``schedule:<due time>``, unique per workflow, so two
workers' ticks make one run) and queues its job for the due moment itself, so a
schedule fires on time, not at the next tick; then the workflow's ``next_run_at`` moves
to the cron's next time after that. After an outage, a missed fire runs once, late; the
fires missed before it are not made up.

Condition: every ``WORKFLOW_CONDITIONS_EVERY_S`` each active condition workflow checks
Connectus's own state. ``health_below`` fires when the integration's health score falls
below the threshold, once per fall (it re-arms when the score is back at or above it);
``sync_failed`` fires once for each failed sync run of the integration's flows (or the
one flow named) that ended since the workflow last looked.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from jobs.constants import WORKFLOW_TICK_EVERY_S
from jobs.flow_schedule import next_run_at
from jobs.workflows.runner import enqueue
from store.db import Database
from store.models import DataFlow, Integration, SyncRun, WorkflowAutomation, WorkflowRun
from store.models.base import utcnow


async def _new_run(session: Any, workflow: WorkflowAutomation, trigger: str, key: str,
                   given: dict[str, Any]) -> uuid.UUID | None:
    """The fire's run, or None when this fire already has one."""
    made: uuid.UUID | None = await session.scalar(
        insert(WorkflowRun).values(
            id=uuid.uuid4(), tenant_id=workflow.tenant_id, workflow_id=workflow.id,
            status="queued", trigger=trigger, trigger_key=key[:200], input=given,
            context={}, steps=[], started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["workflow_id", "trigger_key"],
                                index_where=WorkflowRun.trigger_key.is_not(None))
        .returning(WorkflowRun.id))
    return made


async def fire_schedules(ctx: dict[str, Any], now: datetime | None = None) -> int:
    """Make and queue the runs of the schedules due before the next tick."""
    db: Database = ctx["db"]
    now = now or utcnow()
    horizon = now + timedelta(seconds=WORKFLOW_TICK_EVERY_S)
    async with db.transaction(None) as session:
        due = (await session.execute(
            select(WorkflowAutomation.id, WorkflowAutomation.tenant_id)
            .where(WorkflowAutomation.next_run_at <= horizon,
                   WorkflowAutomation.status == "active",
                   WorkflowAutomation.trigger_type == "schedule"))).all()
    fired = 0
    for workflow_id, tenant_id in due:
        made, at = None, None
        async with db.transaction(tenant_id) as session:
            workflow = await session.get(WorkflowAutomation, workflow_id, with_for_update=True)
            if workflow is None or workflow.next_run_at is None \
                    or workflow.next_run_at > horizon or workflow.status != "active":
                continue  # another worker's tick took it first
            at = workflow.next_run_at
            made = await _new_run(session, workflow, "schedule", f"schedule:{at.isoformat()}",
                                  {"type": "schedule", "fired_at": at.isoformat(),
                                   "payload": {"scheduled_for": at.isoformat(),
                                               **workflow.trigger_config}})
            workflow.next_run_at = next_run_at("cron", workflow.trigger_config,
                                               after=max(at, now))
        if made is not None:
            fired += 1
            await enqueue(ctx["redis"], made, at=at if at and at > now else None)
    return fired


async def check_conditions(ctx: dict[str, Any]) -> int:
    """Check every active condition workflow once; returns how many runs were made."""
    db: Database = ctx["db"]
    async with db.transaction(None) as session:
        found = (await session.execute(
            select(WorkflowAutomation.id, WorkflowAutomation.tenant_id)
            .where(WorkflowAutomation.status == "active",
                   WorkflowAutomation.trigger_type == "condition"))).all()
    made: list[uuid.UUID] = []
    for workflow_id, tenant_id in found:
        async with db.transaction(tenant_id) as session:
            workflow = await session.get(WorkflowAutomation, workflow_id, with_for_update=True)
            if workflow is None or workflow.status != "active":
                continue
            if workflow.trigger_config.get("check") == "health_below":
                made += await _health(session, workflow)
            else:
                made += await _sync_failures(session, workflow)
    for run_id in made:
        await enqueue(ctx["redis"], run_id)
    return len(made)


async def _health(session: Any, workflow: WorkflowAutomation) -> list[uuid.UUID]:
    integration = await session.get(Integration, workflow.integration_id)
    if integration is None:
        return []
    threshold = int(workflow.trigger_config.get("threshold", 60))
    state = dict(workflow.trigger_state)
    low = integration.health_score < threshold
    if low == bool(state.get("firing")):
        return []
    state["firing"] = low
    made = None
    if low:
        state["fired"] = int(state.get("fired", 0)) + 1
        payload = {"type": "integration.health_below", "integration": str(integration.id),
                   "integration_name": integration.name, "health_score":
                   integration.health_score, "threshold": threshold,
                   "status": integration.status, "last_error": integration.last_error}
        made = await _new_run(session, workflow, "condition",
                              f"condition:health:{state['fired']}",
                              {"type": "integration.health_below",
                               "fired_at": utcnow().isoformat(), "payload": payload})
    workflow.trigger_state = state
    return [made] if made else []


async def _sync_failures(session: Any, workflow: WorkflowAutomation) -> list[uuid.UUID]:
    state = dict(workflow.trigger_state)
    since = datetime.fromisoformat(state["since"]) if state.get("since") \
        else workflow.created_at
    query = (select(SyncRun, DataFlow.name).join(DataFlow, DataFlow.id == SyncRun.data_flow_id)
             .where(DataFlow.integration_id == workflow.integration_id,
                    SyncRun.status == "failed", SyncRun.finished_at > since)
             .order_by(SyncRun.finished_at).limit(100))
    if workflow.trigger_config.get("data_flow"):
        query = query.where(SyncRun.data_flow_id == uuid.UUID(
            workflow.trigger_config["data_flow"]))
    made = []
    for run, flow_name in (await session.execute(query)).all():
        payload = {"type": "sync.failed", "sync_run": str(run.id),
                   "data_flow": str(run.data_flow_id), "data_flow_name": flow_name,
                   "error": run.error, "finished_at": run.finished_at.isoformat(),
                   "records_failed": run.records_failed}
        found = await _new_run(session, workflow, "condition", f"sync_failed:{run.id}",
                               {"type": "sync.failed", "fired_at": utcnow().isoformat(),
                                "payload": payload})
        if found:
            made.append(found)
        since = max(since, run.finished_at)
    state["since"] = since.isoformat()
    workflow.trigger_state = state
    return made
