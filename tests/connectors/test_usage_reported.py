"""``api_calls_today`` and ``api_calls_limit`` follow the provider's own word where its
headers give numbers (Salesforce's Sforce-Limit-Info counts every app on the org), and
a Google Ads mutate costs one operation per item, not one per HTTP call."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from connectors.providers.google_ads import SPEC as GOOGLE_ADS
from jobs.recording import UsageRecorder
from store.models import ApiUsage, Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Services


async def _integration(services: Services, provider: str, limit: int = 0
                       ) -> tuple[uuid.UUID, uuid.UUID]:
    caller, _ = await make_tenant(services, f"t{uuid.uuid4().hex[:8]}")
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == provider))
        row = Integration(provider_id=found.id, name=provider, status="active", settings={},
                          api_calls_limit=limit, auth_credentials=services.vault.encrypt({}))
        session.add(row)
    return caller.tenant_id, row.id


async def _stored(services: Services, tenant_id: uuid.UUID) -> tuple[Integration, ApiUsage]:
    async with services.db.session(tenant_id) as session:
        return (await session.scalar(select(Integration)),
                await session.scalar(select(ApiUsage)))


async def test_salesforce_usage_header_sets_the_day_and_the_limit(services: Services, sandbox,
                                                                  connect) -> None:
    tenant_id, integration_id = await _integration(services, "salesforce", limit=5_000)
    box = sandbox.sandboxes["salesforce"]
    box.state.used = 80_000  # other apps on the org have spent most of it
    recorder = UsageRecorder(services.db, tenant_id, integration_id)
    salesforce = connect("salesforce", {"access_token": "sandbox", "client_id": "sandbox-client",
                                        "client_secret": "sandbox-secret",
                                        "instance_url": sandbox.url + "/salesforce"},
                         {"org_id": "00D000000000001EAA"}, observer=recorder)
    assert (await salesforce.test_connection()).ok
    await recorder.flush()
    integration, usage = await _stored(services, tenant_id)
    assert usage.calls == 1
    assert integration.api_calls_today == box.state.used >= 80_000
    assert integration.api_calls_limit == box.state.daily_api_allocation != 5_000
    assert integration.usage_reported["used"] == box.state.used


async def test_our_own_count_stands_where_the_provider_reports_none(services: Services,
                                                                    sandbox, connect) -> None:
    tenant_id, integration_id = await _integration(services, "slack", limit=900)
    recorder = UsageRecorder(services.db, tenant_id, integration_id)
    slack = connect("slack", {"access_token": "xoxb-sandbox"}, observer=recorder)
    for _ in range(3):
        await slack.test_connection()
    await recorder.flush()
    integration, usage = await _stored(services, tenant_id)
    assert (usage.calls, usage.operations) == (3, 3)
    assert (integration.api_calls_today, integration.api_calls_limit) == (3, 900)
    assert integration.usage_reported == {}


async def test_a_google_ads_mutate_costs_one_operation_per_item(services: Services, sandbox,
                                                                connect) -> None:
    tenant_id, integration_id = await _integration(services, "google_ads")
    recorder = UsageRecorder(services.db, tenant_id, integration_id)
    ads = connect("google_ads", GOOGLE_ADS.sandbox_demo["credentials"],
                  GOOGLE_ADS.sandbox_demo["settings"], observer=recorder)
    result = await ads.write("campaigns.create",
                             [{"name": f"Winter {i}", "status": "PAUSED"} for i in range(25)])
    assert result.ok == 25
    await ads.read_all("campaigns")  # searches: one operation a call, however many rows
    await recorder.flush()
    integration, usage = await _stored(services, tenant_id)
    assert usage.operations == 25 + (usage.calls - 1)
    assert integration.api_calls_today == usage.operations
