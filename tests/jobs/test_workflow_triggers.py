"""Schedule triggers fire on time and once, however many workers tick; condition triggers
fire on Connectus's own state: an integration's health falling, a sync failing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from jobs.workflows.triggers import check_conditions, fire_schedules
from store.models import DataFlow, Integration, SyncRun, WorkflowAutomation
from tests.jobs.workflow_kit import Tenant, new_tenant
from tools.context import Services


@pytest.fixture
async def tenant(services: Services, api: httpx.AsyncClient, sandbox: Any) -> Tenant:
    return await new_tenant(services, api, sandbox)


def ctx(tenant: Tenant) -> dict[str, Any]:
    return {"db": tenant.services.db, "vault": tenant.services.vault,
            "redis": tenant.services.queue}


async def _set(tenant: Tenant, model: Any, row_id: str, **values: Any) -> None:
    async with tenant.services.db.transaction(tenant.caller.tenant_id) as session:
        await session.execute(update(model).where(model.id == uuid.UUID(row_id)).values(**values))


async def test_a_schedule_fires_on_time_and_once(tenant: Tenant) -> None:
    made = await tenant.workflow(name="Digest", trigger_type="schedule",
                                 trigger_config={"cron": "*/5 * * * *",
                                                 "timezone": "Asia/Kolkata"},
                                 actions=[{"type": "send_notification",
                                           "text": "Digest for {{ trigger.fired_at }}"}])
    first = datetime.fromisoformat(made["next_run_at"])
    now = datetime.now(UTC)
    assert now < first <= now + timedelta(minutes=5) and first.minute % 5 == 0
    assert first.second == 0
    assert await fire_schedules(ctx(tenant), now=first - timedelta(seconds=11)) == 0

    due = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    await _set(tenant, WorkflowAutomation, made["id"], next_run_at=due)
    fired = await asyncio.gather(fire_schedules(ctx(tenant)), fire_schedules(ctx(tenant)))
    assert sorted(fired) == [0, 1]  # two workers' ticks, one run
    [run] = await tenant.runs()
    assert run.trigger == "schedule" and run.trigger_key == f"schedule:{due.isoformat()}"
    assert run.status == "queued"
    await tenant.work()  # the job waits for the due moment, not for the next tick
    [run] = await tenant.runs()
    assert run.status == "succeeded"
    started = datetime.fromisoformat(run.steps[0]["started_at"])
    assert due <= started
    [message] = tenant.slack_messages()
    assert message["text"] == f"Digest for {due.isoformat()}"
    async with tenant.services.db.session(tenant.caller.tenant_id) as session:
        row = await session.get(WorkflowAutomation, uuid.UUID(made["id"]))
    assert row is not None and row.next_run_at is not None
    assert row.next_run_at > due and row.next_run_at.minute % 5 == 0
    assert await fire_schedules(ctx(tenant), now=row.next_run_at - timedelta(seconds=11)) == 0


async def test_a_paused_schedule_does_not_fire(tenant: Tenant) -> None:
    made = await tenant.workflow(name="Digest", trigger_type="schedule", status="paused",
                                 trigger_config={"cron": "* * * * *"},
                                 actions=[{"type": "send_notification"}])
    assert made["next_run_at"] is None
    assert await fire_schedules(ctx(tenant), now=datetime.now(UTC) + timedelta(hours=1)) == 0


async def test_a_falling_health_score_fires_once_per_fall(tenant: Tenant) -> None:
    hubspot = tenant.integrations["hubspot"]
    await tenant.workflow(name="Health", trigger_type="condition",
                          trigger_config={"check": "health_below", "threshold": 60},
                          actions=[{"type": "send_notification", "text":
                                    "{{ event.integration_name }} is at "
                                    "{{ event.health_score }}"}])
    assert await check_conditions(ctx(tenant)) == 0
    await _set(tenant, Integration, hubspot, health_score=40)
    assert await check_conditions(ctx(tenant)) == 1
    assert await check_conditions(ctx(tenant)) == 0  # still low: no second alert
    await _set(tenant, Integration, hubspot, health_score=90)
    assert await check_conditions(ctx(tenant)) == 0
    await _set(tenant, Integration, hubspot, health_score=30)
    assert await check_conditions(ctx(tenant)) == 1
    await tenant.work()
    assert sorted(m["text"] for m in tenant.slack_messages()) == ["hubspot is at 30",
                                                                 "hubspot is at 40"]


async def test_a_failed_sync_fires_once(tenant: Tenant) -> None:
    hubspot = uuid.UUID(tenant.integrations["hubspot"])
    await tenant.workflow(name="Sync alarm", trigger_type="condition",
                          trigger_config={"check": "sync_failed"},
                          actions=[{"type": "send_notification", "text":
                                    "{{ event.data_flow_name }} failed: {{ event.error }}"}])
    async with tenant.services.db.transaction(tenant.caller.tenant_id) as session:
        flow = DataFlow(integration_id=hubspot, name="Contacts", stream="contacts")
        session.add(flow)
        await session.flush()
        session.add(SyncRun(data_flow_id=flow.id, status="failed", error="HubSpot said no",
                            finished_at=datetime.now(UTC) + timedelta(seconds=1)))
        session.add(SyncRun(data_flow_id=flow.id, status="succeeded",
                            finished_at=datetime.now(UTC) + timedelta(seconds=1)))
    assert await check_conditions(ctx(tenant)) == 1
    assert await check_conditions(ctx(tenant)) == 0
    await tenant.work()
    assert [m["text"] for m in tenant.slack_messages()] == ["Contacts failed: HubSpot said no"]
