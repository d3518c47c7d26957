"""create_contact's coalesced upserts into the Connectus CRM: many runs' writes at once
are one statement, a key written twice in the moment lands in order, an empty field keeps
what the contact had, ``data`` merges, and each caller learns whether it created."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from jobs.workflows.actions.crm_writes import Upsert, upserts_for
from tests.jobs.workflow_kit import new_tenant
from tools.context import Services


def _row(email: str, first: str | None, **data: Any) -> dict[str, Any]:
    return {"email": email, "first_name": first, "last_name": None, "company": None,
            "phone": None, "data": data, "source": "hubspot:1"}


async def test_many_writes_at_once_land_as_one_at_a_time_would(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox, slug="crmwrites")
    tenant_id = tenant.caller.tenant_id
    writes = upserts_for(services.db)
    batches = writes.batches
    results = await asyncio.gather(
        writes.submit(Upsert(tenant_id, "ada@x.example", _row("ada@x.example", "Ada", a=1))),
        writes.submit(Upsert(tenant_id, "bob@x.example", _row("bob@x.example", "Bob"))),
        # the same key again in the same moment: lands after the first, on it
        writes.submit(Upsert(tenant_id, "ada@x.example", _row("ada@x.example", None, b=2))))
    assert writes.batches == batches + 1  # one flush for the three
    assert [r.created for r in results] == [True, True, False]
    assert results[0].contact_id == results[2].contact_id != results[1].contact_id
    again = await writes.submit(Upsert(tenant_id, "bob@x.example",
                                       _row("bob@x.example", "Robert", c=3)))
    assert again.created is False and again.contact_id == results[1].contact_id
    contacts = {c.key: c for c in await tenant.contacts()}
    assert len(contacts) == 2
    ada, bob = contacts["ada@x.example"], contacts["bob@x.example"]
    assert ada.first_name == "Ada" and ada.data == {"a": 1, "b": 2}  # kept, and merged
    assert bob.first_name == "Robert" and bob.data == {"c": 3}
    assert ada.tenant_id == tenant_id and ada.source == "hubspot:1"
