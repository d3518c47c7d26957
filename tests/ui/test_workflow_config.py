"""Workflows are checked on save, each error naming its JSON path; the action library
lists every action's parameters; execute queues a run or, dry, shows what one would do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.accounts import create_user, issue_api_key
from store.models import AuditLog, Role
from tests.jobs.workflow_kit import NEW_LEAD_ALERT, Tenant, auth, new_tenant
from tools.context import Services

ALERT = NEW_LEAD_ALERT["actions"]
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"actions": [{"type": "send_notifcation"}]}, "actions[0].type", "did you mean "
     "'send_notification'"),
    ({"actions": []}, "actions", "at least one action"),
    ({"actions": [{"type": "trigger_sync"}]}, "actions[0].data_flow", "is required"),
    ({"actions": [ALERT[0], {"type": "send_notification", "text": "Hi {{ record.name "}]},
     "actions[1].text", "not a valid template"),
    ({"actions": [{"type": "send_notification", "text": "{{ evnt.id }}"}]},
     "actions[0].text", "'evnt'"),
    ({"actions": [{"type": "send_notification", "text": "{% for x in event %}{% endfor %}"}]},
     "actions[0].text", "for blocks"),
    ({"actions": [{"type": "send_notification", "slack_channel": "{{ event.c }}"}]},
     "actions[0].slack_channel", "does not take templates"),
    ({"actions": [{"type": "create_contact", "colour": "red"}]}, "actions[0].colour",
     "not a parameter"),
    ({"actions": [{"type": "create_contact", "target": "pipedrive"}]}, "actions[0].target",
     "unknown target"),
    ({"actions": [{"type": "upsert_mailchimp_member"}]}, "actions[0].integration",
     "no mailchimp integration"),
    ({"actions": [{"type": "http_request", "url": "ftp://files.example/x"}]},
     "actions[0].url", "http:// or https://"),
    ({"actions": [{"type": "delay"}]}, "actions[0].seconds", "give seconds or until"),
    ({"actions": [{"type": "delay", "seconds": 10**9}]}, "actions[0].seconds", "less than"),
    ({"actions": [{"type": "create_contact", "id": "a"}, {"type": "create_contact",
                                                          "id": "a"}]},
     "actions[1].id", "already has id"),
    ({"trigger_type": "schedule", "trigger_config": {"cron": "61 * * * *"}},
     "trigger_config.cron", "not a cron expression"),
    ({"trigger_type": "schedule", "trigger_config": {"cron": "0 9 * * *", "timezone": "Mars"}},
     "trigger_config.timezone", "unknown time zone"),
    ({"trigger_config": {"event": "contact.created"}}, "trigger_config.event",
     "did you mean 'contact.creation'"),
    ({"trigger_config": {}}, "trigger_config.event", "is required"),
    ({"trigger_type": "condition", "trigger_config": {"check": "health_below",
                                                      "threshold": 0}},
     "trigger_config.threshold", "1 to 100"),
    ({"trigger_type": "manual", "trigger_config": {"event": "x"}}, "trigger_config.event",
     "unknown key"),
    ({"conditions": {"all": [{"field": "record.email", "op": "exists"},
                             {"field": "record.email", "op": "equal", "value": 1}]}},
     "conditions.all[1].op", "did you mean 'equals'"),
    ({"conditions": {"any": [{"not": {"field": "email", "op": "exists"}}]}},
     "conditions.any[0].not.field", "must start with event, record, trigger"),
    ({"conditions": {"field": "event.x", "op": "in", "value": 3}}, "conditions.value",
     "list of values"),
    ({"conditions": {"field": "event.x", "op": "regex", "value": "(a+)+$"}},
     "conditions.value", "backtrack"),
    ({"conditions": {"all": [], "any": []}}, "conditions.any", "stands alone"),
]


@pytest.fixture
async def tenant(services: Services, api: httpx.AsyncClient, sandbox: Any) -> Tenant:
    return await new_tenant(services, api, sandbox)


@pytest.mark.parametrize(("change", "field", "words"), BAD)
async def test_a_bad_workflow_is_refused_naming_the_path(tenant: Tenant, change: dict[str, Any],
                                                         field: str, words: str) -> None:
    response = await tenant.api.post("/integrations/workflows/", headers=auth(tenant.key),
                                     json={"integration": tenant.integrations["hubspot"],
                                           **NEW_LEAD_ALERT, **change})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in {d.get("field") for d in error["details"]}, error
    assert words in error["message"], error
    listed = await tenant.api.get("/integrations/workflows/", headers=auth(tenant.key))
    assert listed.json() == []  # nothing half-saved


async def test_a_bad_patch_changes_nothing(tenant: Tenant) -> None:
    made = await tenant.workflow()
    url = f"/integrations/workflows/{made['id']}/"
    bad = await tenant.api.patch(url, headers=auth(tenant.key),
                                 json={"actions": [{"type": "nope"}]})
    assert bad.status_code == 422
    assert (await tenant.api.get(url, headers=auth(tenant.key))).json() == made
    renamed = await tenant.api.patch(url, headers=auth(tenant.key), json={"name": "Leads"})
    assert renamed.json()["name"] == "Leads" and renamed.json()["actions"] == made["actions"]
    twin = await tenant.api.post("/integrations/workflows/", headers=auth(tenant.key), json={
        "integration": tenant.integrations["hubspot"], **NEW_LEAD_ALERT, "name": "Leads"})
    assert twin.status_code == 409
    assert (await tenant.api.delete(url, headers=auth(tenant.key))).status_code == 204
    assert (await tenant.api.get(url, headers=auth(tenant.key))).status_code == 404


async def test_the_action_library_lists_every_action_with_its_parameters(
        tenant: Tenant) -> None:
    listed = (await tenant.api.get("/integrations/workflows/actions/",
                                   headers=auth(tenant.key))).json()
    by_type = {a["type"]: a for a in listed}
    assert set(by_type) == {"create_contact", "update_contact", "send_notification",
                            "upsert_mailchimp_member", "post_to_zapier", "trigger_sync",
                            "http_request", "delay"}
    notify = by_type["send_notification"]
    assert {"integration", "slack_channel", "text"} <= set(notify["params"]["properties"])
    assert notify["templated"] == ["text"]
    assert "url" in by_type["http_request"]["params"]["required"]


async def test_execute_dry_run_shows_the_record_and_rendered_steps_and_writes_nothing(
        tenant: Tenant) -> None:
    made = await tenant.workflow(actions=[ALERT[0], {
        "type": "send_notification", "text": "Hi {{ record.properties.firstname }}"}])
    person = tenant.hubspot_contact()
    dry = await tenant.api.post(f"/integrations/workflows/{made['id']}/execute/",
                                headers=auth(tenant.key), json={
                                    "dry_run": True, "payload": {"objectId": 1001,
                                                                 "subscriptionType":
                                                                 "contact.creation"}})
    assert dry.status_code == 200, dry.text
    report = dry.json()["dry_run"]
    assert report["conditions_met"] and report["record"]["properties"]["email"] == person["email"]
    assert [s["ok"] for s in report["steps"]] == [True, True]
    assert report["steps"][1]["params"]["text"] == f"Hi {person['firstname']}"
    assert await tenant.runs() == [] and tenant.slack_messages() == []
    assert await tenant.contacts() == []

    queued = await tenant.api.post(f"/integrations/workflows/{made['id']}/execute/",
                                   headers=auth(tenant.key),
                                   json={"payload": {"objectId": 1001}})
    assert queued.status_code == 202
    assert queued.json()["run"]["status"] == "queued"
    assert queued.json()["run"]["trigger"] == "manual"
    await tenant.work()
    [run] = await tenant.runs()
    assert run.status == "succeeded" and len(tenant.slack_messages()) == 1
    async with tenant.services.db.session(tenant.caller.tenant_id) as session:
        actions = (await session.scalars(select(AuditLog.action))).all()
    assert {"workflow.create", "workflow.execute"} <= set(actions)


async def test_roles_and_tenants(services: Services, tenant: Tenant) -> None:
    made = await tenant.workflow()
    async with services.db.transaction(None) as session:
        user = await create_user(session, tenant.caller.tenant_id, "member@acme.example",
                                 Role.member)
        member = await issue_api_key(session, user)
    refused = await tenant.api.post("/integrations/workflows/", headers=auth(member), json={
        "integration": tenant.integrations["hubspot"], **NEW_LEAD_ALERT, "name": "Other"})
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    ran = await tenant.api.post(f"/integrations/workflows/{made['id']}/execute/",
                                headers=auth(member))
    assert ran.status_code == 202  # a member may run one
    other = await new_tenant(services, tenant.api, tenant.sandbox, slug="other")
    for path in (f"/integrations/workflows/{made['id']}/",
                 f"/integrations/workflows/{made['id']}/runs/",
                 f"/integrations/workflow-runs/{ran.json()['run']['id']}/"):
        assert (await tenant.api.get(path, headers=auth(other.key))).status_code == 404
    foreign = await tenant.api.post("/integrations/workflows/", headers=auth(other.key), json={
        "integration": tenant.integrations["hubspot"], **NEW_LEAD_ALERT})
    assert foreign.status_code == 422
    assert foreign.json()["error"]["details"][0]["field"] == "integration"
