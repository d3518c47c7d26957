"""The audit log over REST: every write made through REST leaves an entry naming who did
what to which object, readable by admins only, filtered by action, target, user and time,
never across tenants. And the pending confirmations, listed with what they will change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

import agent
from store.accounts import create_user, issue_api_key
from store.models import Role
from tests.agent.conftest import hubspot_with_flow
from tests.agent.scripted import ScriptedModel, call
from tests.conftest import make_tenant
from tools.context import Services

LOG = "/integrations/audit-log/"
SECRET = "pat-na1-very-secret-token-value"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _writes(api: httpx.AsyncClient, key: str, sandbox_url: str) -> dict[str, str]:
    """A round of REST writes on an integration and a flow; the ids they made."""
    made = await api.post("/integrations/integrations/", headers=bearer(key), json={
        "provider": "hubspot", "name": "HubSpot", "credentials": {"access_token": "sandbox"},
        "settings": {"sandbox_url": sandbox_url}})
    integration = made.json()["id"]
    assert (await api.patch(f"/integrations/integrations/{integration}/", headers=bearer(key),
                            json={"name": "HubSpot CRM"})).status_code == 200
    flow = (await api.post("/integrations/data-flows/", headers=bearer(key), json={
        "integration": integration, "name": "Contacts", "direction": "inbound",
        "stream": "contacts", "source_fields": ["email"], "target_fields": ["email"],
        "sync_frequency": "daily"})).json()["id"]
    assert (await api.patch(f"/integrations/data-flows/{flow}/", headers=bearer(key),
                            json={"sync_frequency": "hourly"})).status_code == 200
    assert (await api.post(f"/integrations/integrations/{integration}/sync_now/",
                           headers=bearer(key))).status_code == 202
    assert (await api.patch(f"/integrations/integrations/{integration}/", headers=bearer(key),
                            json={"credentials": {"access_token": SECRET}})).status_code == 200
    assert (await api.patch("/integrations/connectus/settings/", headers=bearer(key),
                            json={"slack_warnings": False})).status_code == 200
    assert (await api.delete(f"/integrations/data-flows/{flow}/",
                             headers=bearer(key))).status_code == 204
    assert (await api.delete(f"/integrations/integrations/{integration}/",
                             headers=bearer(key))).status_code == 204
    return {"integration": integration, "flow": flow}


async def test_every_rest_write_leaves_an_entry(services: Services, api: httpx.AsyncClient,
                                                sandbox: Any) -> None:
    owner, key = await make_tenant(services, "acme")
    ids = await _writes(api, key, sandbox.url)
    response = await api.get(LOG, headers=bearer(key), params={"limit": 200})
    assert SECRET not in response.text  # what changed is named, never a credential's value
    entries = response.json()["items"]
    actions = [(e["action"], e["target_id"]) for e in reversed(entries)]
    for expected in (("integration.create", ids["integration"]),
                     ("integration.update", ids["integration"]),
                     ("data_flow.create", ids["flow"]), ("data_flow.update", ids["flow"]),
                     ("data_flow.delete", ids["flow"]),
                     ("integration.sync_now", ids["integration"]),
                     ("integration.delete", ids["integration"])):
        assert expected in actions, (expected, actions)
    assert any(a.startswith("insight_settings") for a, _ in actions), actions
    assert {e["user"] for e in entries} == {owner.email}


async def test_filters_admins_only_and_one_tenant(services: Services, api: httpx.AsyncClient,
                                                  sandbox: Any) -> None:
    owner, key = await make_tenant(services, "acme")
    ids = await _writes(api, key, sandbox.url)

    async def read(key: str = key, **params: Any) -> list[dict[str, Any]]:
        response = await api.get(LOG, headers=bearer(key), params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    assert {e["action"] for e in await read(action="data_flow.")} == {
        "data_flow.create", "data_flow.update", "data_flow.delete"}
    updates = await read(action="integration.update")
    assert [e["details"]["changed"] for e in updates] == [["credentials"], ["name"]]
    on_flow = await read(target_type="data_flow", target_id=ids["flow"])
    assert len(on_flow) == 3 and {e["target_id"] for e in on_flow} == {ids["flow"]}
    assert len(await read(user_id=str(owner.user_id))) >= 9
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await read(since=future) == []
    assert len(await read(until=future)) >= 9
    bad = await api.get(LOG, headers=bearer(key), params={"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "since"

    async with services.db.transaction(owner.tenant_id) as session:
        user = await create_user(session, owner.tenant_id, "m@acme.example", Role.member)
        member_key = await issue_api_key(session, user)
    refused = await api.get(LOG, headers=bearer(member_key))
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    _, other_key = await make_tenant(services, "globex")
    assert await read(other_key) == []


async def test_pending_confirmations_are_listed_with_what_they_change(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    owner, key = await make_tenant(services, "acme")
    await hubspot_with_flow(services, owner, sandbox.url)
    asked = await agent.ask(services, owner, "sync hubspot", "t-1", model=ScriptedModel(
        script=[call("sync_now", integration="hubspot")]))
    assert asked.pending is not None
    listed = await api.get("/integrations/connectus/confirmations/", headers=bearer(key))
    assert listed.status_code == 200
    [pending] = listed.json()["items"]
    assert pending["id"] == asked.pending["id"] and pending["status"] == "pending"
    assert pending["thread_id"] == "t-1" and pending["needs_role"] == "member"
    assert pending["preview"]["changes"][0]["object"] == "data flow 'Contacts Sync'"
    assert (await api.get("/integrations/connectus/confirmations/", headers=bearer(key),
                          params={"thread_id": "t-2"})).json()["items"] == []

    cancelled = await api.post(f"/integrations/connectus/confirmations/{pending['id']}/cancel/",
                               headers=bearer(key))
    assert cancelled.status_code == 200
    assert (await api.get("/integrations/connectus/confirmations/",
                          headers=bearer(key))).json()["items"] == []
    done = (await api.get("/integrations/connectus/confirmations/", headers=bearer(key),
                          params={"status": "cancelled"})).json()["items"]
    assert [c["id"] for c in done] == [pending["id"]]
    entries = (await api.get(LOG, headers=bearer(key), params={
        "action": "confirmation.cancel"})).json()["items"]
    assert [e["target_id"] for e in entries] == [pending["id"]]
    _, other_key = await make_tenant(services, "globex")
    assert (await api.get("/integrations/connectus/confirmations/", headers=bearer(other_key),
                          params={"status": "cancelled"})).json()["items"] == []
