"""A run that fails for a reason a person must fix stops its flow: status 'error', the
reason in GET, off the schedule; PATCHing it back to active (after the fix) resumes it.
A transient failure changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from connectors.http import Attempts
from connectors.providers.hubspot import SPEC as HUBSPOT
from connectors.sandbox.kit import Faults
from jobs.constants import SYNC_MAX_TRIES
from jobs.sync.schedule import schedule_due_flows
from store.models import DataFlow, Integration
from tests.jobs.conftest import Flow, make_flow
from tools.context import Services

QUICK = Attempts(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05)


@pytest.fixture
async def contacts_flow(services: Services, sandbox: Any) -> Flow:
    flow = await make_flow(services, sandbox.url, contacts=250, sandbox=sandbox)
    # the compiled mapping a flow saved over REST has, so a PATCH can check it again
    async with services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(DataFlow).where(DataFlow.id == flow.id).values(
            mappings=[{"source": s, "target": t, "rules": []} for s, t in zip(
                flow.row.source_fields, flow.row.target_fields, strict=True)]))
    return flow


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _due(flow: Flow) -> None:
    async with flow.services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(DataFlow).where(DataFlow.id == flow.id).values(
            next_run_at=datetime.now(UTC) - timedelta(seconds=1)))


async def _credentials(flow: Flow, credentials: dict[str, Any]) -> None:
    services = flow.services
    async with services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(Integration).values(
            auth_credentials=services.vault.encrypt(credentials), status="active"))


async def _scheduled_run(flow: Flow, **ctx: Any) -> dict[str, Any]:
    """One tick, then the job it queued, as a worker would run it."""
    await _due(flow)
    assert await schedule_due_flows(flow.ctx()) == 1
    run = (await flow.runs())[-1]
    assert run.trigger == "schedule"
    return await flow.run(run.id, **ctx)


async def test_a_config_failure_stops_the_flow_until_it_is_set_active_again(
        contacts_flow: Flow, api: httpx.AsyncClient) -> None:
    url = f"/integrations/data-flows/{contacts_flow.id}/"
    headers = _auth(contacts_flow.key)
    await _credentials(contacts_flow, {"access_token": "revoked"})
    failed = await _scheduled_run(contacts_flow, sync_attempts=QUICK)
    assert failed["status"] == "failed"

    shown = (await api.get(url, headers=headers)).json()
    assert shown["status"] == "error" and shown["next_run_at"] is None
    assert "reconnect" in shown["status_reason"].lower()
    assert shown["status_reason"] == shown["last_run"]["error"]
    assert shown["last_run"]["summary"]["flow_status"] == "error"
    [listed] = (await api.get("/integrations/data-flows/", headers=headers)).json()
    assert listed["status_reason"] == shown["status_reason"]
    # the scheduler leaves it alone, however overdue
    await _due(contacts_flow)
    assert await schedule_due_flows(contacts_flow.ctx()) == 0

    # fixed, and set active by a person: back on its schedule, the reason gone
    await _credentials(contacts_flow, dict(HUBSPOT.sandbox_demo["credentials"]))
    resumed = await api.patch(url, headers=headers, json={"status": "active"})
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "active" and body["status_reason"] is None
    assert datetime.fromisoformat(body["next_run_at"]) > datetime.now(UTC) + timedelta(
        minutes=59)
    ok = await _scheduled_run(contacts_flow)
    assert ok["status"] == "succeeded" and await contacts_flow.count() == 250
    assert (await api.get(url, headers=headers)).json()["status"] == "active"


async def test_a_transient_failure_leaves_the_flow_active(contacts_flow: Flow,
                                                          sandbox: Any) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=1.0))
    result = await _scheduled_run(contacts_flow, sync_attempts=QUICK, job_try=SYNC_MAX_TRIES)
    assert result["status"] == "failed"
    [run] = await contacts_flow.runs()
    assert run.summary["failure"] == "transient" and "flow_status" not in run.summary
    flow = await contacts_flow.flow()
    assert flow.status == "active" and flow.next_run_at is not None


async def test_a_paused_flow_run_by_hand_stays_paused(contacts_flow: Flow,
                                                      api: httpx.AsyncClient) -> None:
    url = f"/integrations/data-flows/{contacts_flow.id}/"
    headers = _auth(contacts_flow.key)
    assert (await api.patch(url, headers=headers, json={"status": "paused"})).status_code == 200
    await _credentials(contacts_flow, {"access_token": "revoked"})
    assert (await contacts_flow.run(sync_attempts=QUICK))["status"] == "failed"
    shown = (await api.get(url, headers=headers)).json()
    assert shown["status"] == "paused" and shown["status_reason"] is None
