"""Rate-limited calls are counted apart in ApiUsage: the health score and the usage bars
read ``rate_limited`` to tell "the provider slowed us down" from other failures."""

from __future__ import annotations

from sqlalchemy import select

from connectors.sandbox.kit import Faults
from jobs.recording import UsageRecorder
from store.models import ApiUsage, Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Services


async def test_429s_are_counted_as_rate_limited(services: Services, sandbox, connect) -> None:
    caller, _ = await make_tenant(services, "acme")
    async with services.db.transaction(caller.tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "slack"))
        row = Integration(provider_id=provider.id, name="slack", status="active",
                          settings={}, auth_credentials=services.vault.encrypt({}))
        session.add(row)
    recorder = UsageRecorder(services.db, caller.tenant_id, row.id)
    sandbox.sandboxes["slack"].set_faults(Faults(rate_429=1.0, retry_after_s=0))
    slack = connect("slack", {"access_token": "xoxb-sandbox"}, observer=recorder)
    diagnosis = await slack.test_connection()
    assert not diagnosis.ok
    await recorder.flush()
    async with services.db.session(caller.tenant_id) as session:
        [usage] = (await session.scalars(select(ApiUsage))).all()
    assert usage.calls >= 2 and usage.errors == usage.calls
    assert usage.rate_limited == usage.calls
