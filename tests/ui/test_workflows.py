"""The brief's New Lead Alert over REST, end to end: a signed HubSpot delivery of
contact.creation writes the contact into the Connectus CRM and tells Slack who it is;
a redelivery runs nothing twice; a forged one is refused and runs nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from jobs.workflows.dispatch import StoredEvent, dispatch_events
from store.models import WorkflowRun
from tests.jobs.workflow_kit import NEW_LEAD_ALERT, auth, creation, new_tenant
from tools.context import Services


async def test_the_brief_new_lead_alert_runs_end_to_end(services: Services,
                                                        api: httpx.AsyncClient,
                                                        sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    workflow = await tenant.workflow()  # the brief's body, as written
    assert workflow["actions"][1]["integration"] == tenant.integrations["slack"]
    person = tenant.hubspot_contact()

    delivered = await tenant.deliver(creation())
    assert delivered.status_code == 200, delivered.text
    assert delivered.headers["x-connectus-events-stored"] == "1"
    await tenant.work()

    [contact] = await tenant.contacts()
    assert contact.key == person["email"].lower() and contact.email == person["email"]
    assert (contact.first_name, contact.last_name) == (person["firstname"], person["lastname"])
    assert contact.source == "hubspot:1001"
    [message] = tenant.slack_messages()
    assert message["channel"] == "C060000000"  # #general, the default_channel
    assert person["firstname"] in message["text"] and person["email"] in message["text"]
    assert "contact.creation" in message["text"] and "New Lead Alert" in message["text"]

    runs = (await api.get(f"/integrations/workflows/{workflow['id']}/runs/",
                          headers=auth(tenant.key))).json()
    [run] = runs
    assert run["status"] == "succeeded" and run["trigger"] == "webhook"
    assert run["record"]["properties"]["email"] == person["email"]  # fetched once, kept
    assert [s["status"] for s in run["steps"]] == ["succeeded", "succeeded"]
    assert run["steps"][0]["output"]["created"] is True
    assert all(s["duration_ms"] >= 0 and s["attempts"] == 1 for s in run["steps"])
    one = await api.get(f"/integrations/workflow-runs/{run['id']}/", headers=auth(tenant.key))
    assert one.status_code == 200 and one.json()["steps"] == run["steps"]
    # read once, by HubSpot's batch read (a worker reads its runs' contacts together);
    # the GET of 1001 without a query is this test's own
    hubspot_reads = [r for r in sandbox.sandboxes["hubspot"].requests
                     if r["path"].endswith("/objects/contacts/batch/read")
                     or (r["path"].endswith("/objects/contacts/1001") and r["query"])]
    assert [r["method"] for r in hubspot_reads] == ["POST"]
    got = (await api.get(f"/integrations/workflows/{workflow['id']}/",
                         headers=auth(tenant.key))).json()
    assert (got["execution_count"], got["success_count"]) == (1, 1)


async def test_a_duplicate_delivery_runs_nothing_twice(services: Services,
                                                       api: httpx.AsyncClient,
                                                       sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    workflow = await tenant.workflow()
    first = await tenant.deliver(creation(eventId=7, occurredAt=1_704_067_205_000))
    # HubSpot's retry: the same event, signed again with a new timestamp, attempt 1
    again = await tenant.deliver(creation(eventId=7, occurredAt=1_704_067_205_000,
                                          attemptNumber=1))
    assert first.headers["x-connectus-events-stored"] == "1"
    assert again.headers["x-connectus-events-stored"] == "0"
    assert again.headers["x-connectus-events-duplicate"] == "1"
    await tenant.work()
    assert len(await tenant.runs()) == 1 and len(await tenant.contacts()) == 1
    assert len(tenant.slack_messages()) == 1
    assert await tenant.counts(workflow["id"]) == (1, 1)

    # and the database itself refuses a second run of the workflow for the event
    [run] = await tenant.runs()
    async with services.db.session(tenant.caller.tenant_id) as session:
        event_id = (await session.get(WorkflowRun, run.id)).webhook_event_id
    made = await dispatch_events(services.db, services.queue, tenant.caller.tenant_id,
                                 uuid.UUID(tenant.integrations["hubspot"]),
                                 [StoredEvent(event_id, "x", "contact.creation", {})])
    assert made == []
    async with services.db.session(tenant.caller.tenant_id) as session:
        assert await session.scalar(select(func.count()).select_from(WorkflowRun)) == 1


async def test_a_badly_signed_webhook_is_refused_and_runs_nothing(services: Services,
                                                                  api: httpx.AsyncClient,
                                                                  sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    await tenant.workflow()
    refused = await tenant.deliver(creation(), headers={"X-HubSpot-Signature-v3": "forged"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "webhook_rejected"
    await tenant.work()
    assert await tenant.runs() == [] and await tenant.contacts() == []
    assert tenant.slack_messages() == []


async def test_the_brief_body_needs_the_slack_integration_named_when_there_are_two(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox)
    second = await tenant.connect("slack", name="Slack (support)")
    refused = await api.post("/integrations/workflows/", headers=auth(tenant.key), json={
        "integration": tenant.integrations["hubspot"], **NEW_LEAD_ALERT})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["details"][0]["field"] == "actions[1].integration"
    assert "2 slack integrations" in error["message"]
    body = {**NEW_LEAD_ALERT, "actions": [NEW_LEAD_ALERT["actions"][0], {
        "type": "send_notification", "channel": "slack", "integration": second,
        "slack_channel": "C060000000"}]}
    made = await tenant.workflow(body)
    assert made["actions"][1]["integration"] == second
