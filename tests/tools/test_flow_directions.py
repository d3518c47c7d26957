"""Outbound and both-ways flows are checked on save: what the provider can write, which
field says which record is meant, and who owns each field, every error at its place."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from store.accounts import Caller
from store.errors import ValidationFailed
from tools.context import Services
from tools.data_flows import DataFlowCreate, DataFlowUpdate, create_data_flow, update_data_flow
from tools.integrations import IntegrationCreate, create_integration

OUT = {"name": "Contacts out", "direction": "outbound", "stream": "contacts",
       "source_fields": ["email", "firstName"], "target_fields": ["email", "firstname"]}
BOTH = {"name": "Contacts both ways", "direction": "bidirectional", "stream": "contacts",
        "source_fields": ["email", "firstname", "id"],
        "target_fields": ["email", "firstName", "hubspotId"]}


async def _integration(services: Services, caller: Caller, provider: str = "hubspot",
                       **credentials: Any) -> uuid.UUID:
    made = await create_integration(services, caller, IntegrationCreate(
        provider=provider, name=provider, credentials=credentials or {"access_token": "x"}))
    return made.id


async def _refused(services: Services, caller: Caller, body: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        await create_data_flow(services, caller, DataFlowCreate(**body))
    return caught.value


async def test_an_outbound_flow_saves_with_its_writes_checked(services: Services, tenant) -> None:
    caller, _ = tenant
    integration = await _integration(services, caller)
    flow = await create_data_flow(services, caller, DataFlowCreate(
        integration=integration, **OUT))
    assert flow.direction == "outbound" and flow.field_owners == {}

    wrong = await _refused(services, caller, {"integration": integration, **OUT,
                                              "target_fields": ["email", "first_name"]})
    assert wrong.details[0]["field"] == "target_fields[1]"
    assert "did you mean 'firstname'" in wrong.message
    own = await _refused(services, caller, {"integration": integration, **OUT,
                                            "target_fields": ["email", "updatedAt"]})
    assert own.details[0]["field"] == "target_fields[1]" and "itself" in own.message
    keyless = await _refused(services, caller, {"integration": integration, **OUT,
                                                "source_fields": ["firstName"],
                                                "target_fields": ["firstname"]})
    assert keyless.details[0]["field"] == "target_fields" and "'email'" in keyless.message
    create_only = await _refused(services, caller, {
        "integration": integration, **OUT, "stream": "companies",
        "source_fields": ["name"], "target_fields": ["name"]})
    assert create_only.details[0]["field"] == "direction"
    assert "companies.create" in create_only.message
    owners = await _refused(services, caller, {"integration": integration, **OUT,
                                               "field_owners": {"email": "provider"}})
    assert owners.details[0]["field"] == "field_owners"


async def test_a_both_ways_flow_gives_every_field_an_owner(services: Services, tenant) -> None:
    caller, _ = tenant
    integration = await _integration(services, caller)
    flow = await create_data_flow(services, caller, DataFlowCreate(
        integration=integration, **BOTH, field_owners={"email": "provider"}))
    # the id is HubSpot's own: it can only flow in, whatever the default
    assert flow.field_owners == {"email": "provider", "firstName": "both",
                                 "hubspotId": "provider"}
    assert flow.conflict_policy == "owner"

    typo = await _refused(services, caller, {"integration": integration, **BOTH,
                                             "name": "x", "field_owners": {"frstName": "both"}})
    assert typo.details[0]["field"] == "field_owners.frstName"
    assert "did you mean 'firstName'" in typo.message
    read_only = await _refused(services, caller, {
        "integration": integration, **BOTH, "name": "y",
        "field_owners": {"hubspotId": "connectus"}})
    assert read_only.details[0]["field"] == "field_owners.hubspotId"
    dotted = await _refused(services, caller, {
        "integration": integration, **BOTH, "name": "z",
        "target_fields": ["email", "name.first", "hubspotId"]})
    assert dotted.details[0]["field"] == "target_fields[1]"

    # a PATCH changes the owners it names and keeps the others
    changed = await update_data_flow(services, caller, flow.id, DataFlowUpdate(
        field_owners={"firstName": "connectus"}, conflict_policy="newest_wins"))
    assert changed.field_owners == {"email": "provider", "firstName": "connectus",
                                    "hubspotId": "provider"}
    assert changed.conflict_policy == "newest_wins"
    renamed = await update_data_flow(services, caller, flow.id, DataFlowUpdate(
        source_fields=["email", "firstname"], target_fields=["email", "givenName"]))
    assert renamed.field_owners == {"email": "provider", "givenName": "both"}
    inbound = await update_data_flow(services, caller, flow.id,
                                     DataFlowUpdate(direction="inbound"))
    assert inbound.field_owners == {}


async def test_mailchimp_both_ways_needs_the_address_it_matches_members_by(
        services: Services, tenant) -> None:
    caller, _ = tenant
    integration = await _integration(services, caller, "mailchimp", api_key="k-us1")
    body = {"integration": integration, "name": "Members", "direction": "bidirectional",
            "stream": "members", "source_fields": ["status"], "target_fields": ["status"]}
    missing = await _refused(services, caller, body)
    assert "'email_address'" in missing.message
    flow = await create_data_flow(services, caller, DataFlowCreate(**{
        **body, "source_fields": ["email_address", "merge_fields.FNAME"],
        "target_fields": ["email", "firstName"]}))
    assert flow.field_owners == {"email": "both", "firstName": "both"}
