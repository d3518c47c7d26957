"""A tenant with the sandbox HubSpot integration and one contacts flow, for the agent."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from store.accounts import Caller
from tests.conftest import make_tenant
from tools import data_flows, integrations
from tools.context import Services


async def hubspot_with_flow(services: Services, caller: Caller, sandbox_url: str,
                            ) -> tuple[uuid.UUID, uuid.UUID]:
    row = await integrations.create_integration(services, caller, integrations.IntegrationCreate(
        provider="hubspot", name="HubSpot (sandbox)", credentials={"access_token": "sandbox"},
        settings={"sandbox_url": sandbox_url}))
    flow = await data_flows.create_data_flow(services, caller, data_flows.DataFlowCreate(
        integration=row.id, name="Contacts Sync", stream="contacts",
        source_fields=["email", "firstname"], target_fields=["email", "first_name"],
        sync_frequency="daily"))
    return row.id, flow.id


@pytest.fixture
async def owner(services: Services) -> Caller:
    caller, _ = await make_tenant(services, "acme")
    return caller


@pytest.fixture
async def hubspot(services: Services, owner: Caller, sandbox: Any) -> tuple[uuid.UUID, uuid.UUID]:
    return await hubspot_with_flow(services, owner, sandbox.url)
