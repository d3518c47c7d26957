"""The status an integration is left in after a failure, through the two places that set
it (open_connector for jobs and tools, and the test_connection operation), against the
simulators: only refused credentials say reconnect, other config errors say error, and
transient failures leave the status alone."""

from typing import Any

import pytest
from sqlalchemy import select

from connectors.errors import BadRequest, MissingScope, ProviderDown
from connectors.http import Attempts
from connectors.sandbox.kit import Faults
from jobs.connecting import open_connector
from store.accounts import Caller
from store.models import Integration, IntegrationProvider
from tests.conftest import make_tenant
from tests.connectors.conftest import oauth_tokens
from tools.context import Services
from tools.integrations import test_connection as run_test_connection

QUICK = Attempts(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05)


async def _integration(services: Services, provider: str, credentials: dict[str, Any],
                       settings: dict[str, Any], status: str = "active",
                       ) -> tuple[Caller, Integration]:
    caller, _ = await make_tenant(services, "acme")
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == provider))
        assert found is not None
        row = Integration(provider_id=found.id, name=provider, status=status,
                          settings=settings,
                          auth_credentials=services.vault.encrypt(credentials))
        session.add(row)
    return caller, row


async def _stored(services: Services, caller: Caller) -> Integration:
    async with services.db.session(caller.tenant_id) as session:
        row = await session.scalar(select(Integration))
    assert row is not None
    return row


async def test_an_outage_during_a_read_leaves_the_status_alone(services: Services,
                                                               sandbox) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=1.0))
    caller, row = await _integration(services, "hubspot", {"access_token": "sandbox"},
                                     {"sandbox_url": sandbox.url})
    with pytest.raises(ProviderDown):
        async with open_connector(services.db, services.vault, services.queue, row,
                                  "hubspot", attempts=QUICK) as connector:
            await connector.read_all("contacts")
    stored = await _stored(services, caller)
    assert (stored.status, stored.last_error) == ("active", None)


async def test_a_refused_request_marks_error_not_reconnect(services: Services,
                                                          sandbox) -> None:
    caller, row = await _integration(services, "slack", {"access_token": "xoxb-sandbox"},
                                     {"sandbox_url": sandbox.url, "channel": "C0NOPE0000"})
    with pytest.raises(BadRequest):
        async with open_connector(services.db, services.vault, services.queue, row,
                                  "slack", attempts=QUICK) as connector:
            await connector.read_all("messages")
    stored = await _stored(services, caller)
    assert stored.status == "error"
    assert "channel_not_found" in (stored.last_error or "")


async def test_a_missing_scope_marks_error(services: Services, sandbox) -> None:
    credentials = await oauth_tokens(sandbox, "slack", "channels:read")
    caller, row = await _integration(services, "slack", credentials,
                                     {"sandbox_url": sandbox.url})
    with pytest.raises(MissingScope):
        async with open_connector(services.db, services.vault, services.queue, row,
                                  "slack", attempts=QUICK) as connector:
            await connector.read_all("users")
    assert (await _stored(services, caller)).status == "error"


async def test_testing_during_an_outage_leaves_the_status_alone(services: Services,
                                                                sandbox) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=1.0))
    caller, row = await _integration(services, "hubspot", {"access_token": "sandbox"},
                                     {"sandbox_url": sandbox.url})
    result = await run_test_connection(services, caller, row.id)
    assert not result.ok and result.details["category"] == "provider_down"
    assert result.status == "active"
    assert (await _stored(services, caller)).status == "active"


async def test_testing_with_a_config_error_that_is_not_auth_says_error(services: Services,
                                                                       sandbox) -> None:
    credentials = {**(await oauth_tokens(sandbox, "mailchimp")), "dc": "us9"}
    caller, row = await _integration(services, "mailchimp", credentials,
                                     {"sandbox_url": sandbox.url}, status="pending")
    result = await run_test_connection(services, caller, row.id)
    assert not result.ok and result.status == "error"
    stored = await _stored(services, caller)
    assert stored.status == "error" and "us1" in (stored.last_error or "")


async def test_testing_with_a_wrong_token_says_reconnect(services: Services, sandbox) -> None:
    caller, row = await _integration(services, "hubspot", {"access_token": "wrong"},
                                     {"sandbox_url": sandbox.url})
    result = await run_test_connection(services, caller, row.id)
    assert not result.ok and result.status == "reconnect_needed"
    assert (await _stored(services, caller)).status == "reconnect_needed"
