"""open_connector: refreshed tokens are stored encrypted, a refused refresh marks the
integration 'reconnect_needed', and every call lands in ApiUsage."""

import time

import pytest
from sqlalchemy import select

from connectors.errors import ReconnectNeeded
from connectors.http import Attempts
from connectors.sandbox.kit import Faults
from jobs.connecting import open_connector
from store.models import ApiUsage, HealthLog, Integration, IntegrationProvider
from tests.conftest import make_tenant
from tests.connectors.conftest import oauth_tokens
from tools.context import Services


async def _integration(services: Services, credentials: dict, sandbox_url: str):
    caller, _ = await make_tenant(services, "acme")
    async with services.db.transaction(caller.tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "hubspot"))
        row = Integration(provider_id=provider.id, name="hubspot", status="active",
                          settings={"sandbox_url": sandbox_url},
                          auth_credentials=services.vault.encrypt(credentials))
        session.add(row)
    return caller, row


async def test_a_refreshed_token_is_stored_encrypted(services: Services, sandbox) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": 250}
    box.reset()
    box.set_faults(Faults(token_expiry_calls=1))
    credentials = await oauth_tokens(sandbox, "hubspot")
    caller, row = await _integration(services, credentials, sandbox.url)
    async with open_connector(services.db, services.vault, services.queue, row,
                              "hubspot") as connector:
        assert len(await connector.read_all("contacts")) == 250
    async with services.db.session(caller.tenant_id) as session:
        stored = await session.scalar(select(Integration.auth_credentials))
        usage = (await session.scalars(select(ApiUsage))).all()
    fresh = services.vault.decrypt(stored)
    assert fresh["access_token"] != credentials["access_token"]
    assert fresh["refresh_token"] == credentials["refresh_token"]
    # 3 pages plus a 401 and a repeat for each of the (at least two) expiries
    assert sum(u.calls for u in usage) >= 5


async def test_a_refused_refresh_marks_the_integration_reconnect_needed(
        services: Services, sandbox) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(token_expiry_calls=1))
    credentials = {**await oauth_tokens(sandbox, "hubspot"), "refresh_token": "revoked-by-the-user"}
    caller, row = await _integration(services, credentials, sandbox.url)
    with pytest.raises(ReconnectNeeded):
        async with open_connector(services.db, services.vault, services.queue, row,
                                  "hubspot", attempts=Attempts(base_wait_s=0.01)) as connector:
            await connector.read_all("contacts")
    async with services.db.session(caller.tenant_id) as session:
        integration = await session.scalar(select(Integration))
        logs = (await session.scalars(select(HealthLog))).all()
    assert integration.status == "reconnect_needed"
    assert "reconnect" in (integration.last_error or "")
    assert any(log.severity == "critical" and log.category == "auth" for log in logs)


async def test_a_token_about_to_expire_is_refreshed_before_the_call(services: Services,
                                                                  sandbox) -> None:
    credentials = {**await oauth_tokens(sandbox, "hubspot"), "expires_at": time.time() + 30}
    _, row = await _integration(services, credentials, sandbox.url)
    box = sandbox.sandboxes["hubspot"]
    before = len(box.requests)
    async with open_connector(services.db, services.vault, services.queue, row,
                              "hubspot") as connector:
        await connector.test_connection()
    paths = [r["path"] for r in box.requests[before:]]
    # refreshed first (the token was still valid: no 401 forced it), then the call
    assert paths[0].endswith("/oauth/v1/token")
    assert paths[1].endswith("/crm/v3/objects/contacts") and len(paths) == 2
