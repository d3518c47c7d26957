"""A batch job's runs share their reads: the contacts their events name come from one
HubSpot batch read (``POST /crm/v3/objects/contacts/batch/read``), not a GET a run, and a
contact HubSpot does not have fails only its own run, as the single read's 404 did.
Real PostgreSQL, Redis, an arq worker and the provider sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from jobs.workflows.batch import BatchPool
from tests.jobs.workflow_kit import Tenant, creation, new_tenant
from tools.context import Services


@pytest.fixture
async def tenant(services: Services, api: httpx.AsyncClient, sandbox: Any) -> Tenant:
    return await new_tenant(services, api, sandbox)


async def test_a_deliverys_runs_read_their_contacts_in_one_batch_read(tenant: Tenant) -> None:
    workflow = await tenant.workflow()
    people = [tenant.hubspot_contact(i) for i in ("1001", "1002", "1003")]
    hubspot = tenant.sandbox.sandboxes["hubspot"]
    hubspot.requests.clear()
    delivered = await tenant.deliver(creation("1001"), creation("1002"), creation("1003"),
                                     creation("99999999"))
    assert delivered.status_code == 200, delivered.text
    await tenant.work()
    contact_calls = [(r["method"], r["path"]) for r in hubspot.requests
                     if r["path"].startswith("/hubspot/crm/v3/objects/contacts")]
    assert contact_calls == [("POST", "/hubspot/crm/v3/objects/contacts/batch/read")]
    runs = {r.input["payload"]["objectId"]: r for r in await tenant.runs()}
    assert {k: r.status for k, r in runs.items()} == {
        1001: "succeeded", 1002: "succeeded", 1003: "succeeded", 99999999: "failed"}
    # each run has its own contact, the one its event names
    for (object_id, run), person in zip(sorted(runs.items())[:3], people, strict=True):
        assert run.context["record"]["id"] == str(object_id)
        assert run.context["record"]["properties"]["email"] == person["email"]
    error = runs[99999999].error or ""
    assert "reading the record failed" in error and "no such resource" in error
    assert sorted(str(c.email) for c in await tenant.contacts()) == sorted(
        p["email"] for p in people)
    assert len(tenant.slack_messages()) == 3
    assert await tenant.counts(workflow["id"]) == (4, 3)


async def test_a_worker_hands_out_one_batch_until_it_is_old_then_closes_it_when_idle() -> None:
    closed: list[str] = []
    pool = BatchPool({}, max_age_s=3600)
    async with pool.use() as first, pool.use() as second:
        assert first is second  # runs of different jobs share it
        first._stack.callback(closed.append, "first")
    assert closed == []  # still the one handed out: kept open for the next runs
    pool.max_age_s = 0  # old now: the next run gets a new one
    async with pool.use() as third:
        assert third is not first and closed == ["first"]
        third._stack.callback(closed.append, "third")
        async with pool.use() as fourth:  # the third is old too, but in use: left open
            assert fourth is not third and closed == ["first"]
        assert closed == ["first"]
    assert closed == ["first", "third"]  # its last run ended
    await pool.close()
