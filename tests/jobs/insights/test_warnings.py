"""A high-priority insight warns the tenant's Slack channel through the Slack connector,
once per opening: the Slack simulator gets the message, later ticks add none, and the
condition returning warns again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from jobs.insights.jobs import insights_for
from store.models import DataFlow, SyncRun
from tests.jobs.workflow_kit import Tenant, new_tenant
from tools.context import Services

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def failing_flow(tenant: Tenant, now: datetime, name: str | None = None) -> None:
    """Two failed runs in the hours before ``now``; of a new flow, or of the flow ``name``."""
    async with tenant.services.db.transaction(tenant.caller.tenant_id) as session:
        flow = await session.scalar(select(DataFlow).where(DataFlow.name == name)) if name \
            else None
        if flow is None:
            flow = DataFlow(integration_id=tenant.integrations["hubspot"],
                            name="Contacts Sync", stream="contacts", sync_frequency="manual")
            session.add(flow)
            await session.flush()
        session.add_all(SyncRun(data_flow_id=flow.id, status="failed", trigger="schedule",
                                started_at=now - n * HOUR, finished_at=now - n * HOUR,
                                error="HubSpot said 401") for n in (1, 2))


def ctx(tenant: Tenant) -> dict[str, Any]:
    return {"db": tenant.services.db, "vault": tenant.services.vault,
            "redis": tenant.services.queue, "allow_private": False}


async def test_a_high_priority_insight_reaches_the_slack_channel_once(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    now = datetime.now(UTC)
    await failing_flow(tenant, now)

    first = await insights_for(ctx(tenant), tenant.caller.tenant_id, now)
    again = await insights_for(ctx(tenant), tenant.caller.tenant_id, now + HOUR / 12)

    assert first.warned == 1 and again.warned == 0
    messages = tenant.slack_messages()
    assert len(messages) == 1
    text = messages[0]["text"]
    assert "Sync 'Contacts Sync' is failing" in text and "What to do:" in text
    assert "GET /integrations/sync-runs/?data_flow=" in text
    listed = await api.get("/integrations/connectus/", headers={
        "Authorization": f"Bearer {tenant.key}"})
    insight = listed.json()["items"][0]
    assert insight["notified_at"] is not None
    assert insight["details"]["slack"]["channel"] == "general"


async def test_the_condition_returning_warns_again(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    now = datetime.now(UTC)
    await failing_flow(tenant, now)
    await insights_for(ctx(tenant), tenant.caller.tenant_id, now)
    cleared = await insights_for(ctx(tenant), tenant.caller.tenant_id, now + 2 * DAY)
    assert cleared.warned == 0

    await failing_flow(tenant, now + 3 * DAY, name="Contacts Sync")
    back = await insights_for(ctx(tenant), tenant.caller.tenant_id, now + 3 * DAY + HOUR)

    assert back.opened == 1 and back.warned == 1
    assert len(tenant.slack_messages()) == 2


async def test_no_warning_when_the_tenant_turned_them_off(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    off = await api.patch("/integrations/connectus/settings/", json={"slack_warnings": False},
                          headers={"Authorization": f"Bearer {tenant.key}"})
    assert off.status_code == 200, off.text
    now = datetime.now(UTC)
    await failing_flow(tenant, now)

    result = await insights_for(ctx(tenant), tenant.caller.tenant_id, now)

    assert result.opened == 1 and result.warned == 0
    assert tenant.slack_messages() == []
