"""A flow's records and conflicts over REST: a record made here goes out on the next run;
bad input is a 4xx naming the field; roles; a conflict listed, settled, and not twice."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from connectors.request import Request
from jobs.connecting import open_connector
from jobs.sync.jobs import run_data_flow
from store.accounts import create_user, issue_api_key
from store.models import Integration, Role
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _hubspot(api: httpx.AsyncClient, key: str, sandbox_url: str) -> str:
    made = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "hubspot", "name": "HubSpot", "credentials": {"access_token": "sandbox"},
        "settings": {"sandbox_url": sandbox_url}})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _flow(api: httpx.AsyncClient, key: str, integration: str, **over: Any) -> str:
    body = {"integration": integration, "name": "Contacts out", "direction": "outbound",
            "stream": "contacts", "source_fields": ["email", "firstName"],
            "target_fields": ["email", "firstname"], "sync_frequency": "hourly", **over}
    made = await api.post("/integrations/data-flows/", headers=_auth(key), json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def _run(services: Services, flow_id: str) -> dict[str, Any]:
    return await run_data_flow({"db": services.db, "vault": services.vault,
                                "redis": services.queue, "job_try": 1}, flow_id)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def _member_and_viewer(services: Services, tenant_id: uuid.UUID) -> tuple[str, str]:
    async with services.db.transaction(None) as session:
        member = await create_user(session, tenant_id, "member@acme.example", Role.member)
        viewer = await create_user(session, tenant_id, "viewer@acme.example", Role.viewer)
        return await issue_api_key(session, member), await issue_api_key(session, viewer)


async def test_a_record_made_here_goes_out_on_the_next_run(api, services: Services, tenant,
                                                           sandbox) -> None:
    _, key = tenant
    sandbox.sandboxes["hubspot"].counts_override = {"contacts": 3}
    flow = await _flow(api, key, await _hubspot(api, key, sandbox.url))
    url = f"/integrations/data-flows/{flow}/records/ada/"
    made = await api.put(url, headers=_auth(key), json={
        "data": {"email": "ada@example.com", "firstName": "Ada"}})
    assert made.status_code == 201, made.text
    assert made.json()["created"] and made.json()["record"]["waiting"]
    assert made.json()["record"]["origin"] == "connectus"
    same = await api.put(url, headers=_auth(key), json={"data": {"firstName": "Ada"}})
    assert same.status_code == 200 and same.json()["changed"] is False
    waiting = await api.get(f"/integrations/data-flows/{flow}/records/", headers=_auth(key),
                            params={"waiting": "true"})
    assert [r["external_id"] for r in waiting.json()] == ["ada"]

    result = await _run(services, flow)
    assert (result["status"], result["records_written"]) == ("succeeded", 1)
    shown = (await api.get(url, headers=_auth(key))).json()
    assert not shown["waiting"] and shown["remote_id"] and shown["pushed_at"]
    assert sandbox.sandboxes["hubspot"].state.batches == [
        {"object": "contacts", "action": "upsert", "inputs": 1}]
    run = (await api.get("/integrations/sync-runs/", headers=_auth(key),
                         params={"data_flow": flow})).json()[0]
    assert run["summary"]["outbound"]["written"] == 1
    assert (await api.get(f"/integrations/data-flows/{flow}/records/", headers=_auth(key),
                          params={"waiting": "true"})).json() == []


async def test_bad_record_input_is_a_4xx_naming_the_field(api, tenant, sandbox) -> None:
    _, key = tenant
    integration = await _hubspot(api, key, sandbox.url)
    flow = await _flow(api, key, integration)
    url = f"/integrations/data-flows/{flow}/records/ada/"
    typo = _error(await api.put(url, headers=_auth(key), json={"data": {"frstName": "A"}}),
                  422, "invalid")
    assert typo["details"][0]["field"] == "data.frstName"
    assert "did you mean 'firstName'" in typo["message"]
    _error(await api.put(url, headers=_auth(key), json={"data": {}}), 422, "invalid")
    _error(await api.put(url, headers=_auth(key), json={"firstName": "A"}), 422, "invalid")
    _error(await api.put(url, headers=_auth(key), json={"data": {"firstName": "a\u0000"}}),
           422, "invalid")
    _error(await api.put(f"/integrations/data-flows/{uuid.uuid4()}/records/ada/",
                         headers=_auth(key), json={"data": {"firstName": "A"}}),
           404, "not_found")
    made = await api.put(url, headers=_auth(key), json={"data": {"email": "a@example.com"}})
    assert made.status_code == 201
    twin = _error(await api.put(f"/integrations/data-flows/{flow}/records/twin/",
                                headers=_auth(key), json={"data": {"email": "A@example.com"}}),
                  409, "conflict")
    assert "'ada'" in twin["message"]  # HubSpot would take both as one contact

    inbound = await _flow(api, key, integration, name="In", direction="inbound",
                          source_fields=["email"], target_fields=["email"])
    _error(await api.put(f"/integrations/data-flows/{inbound}/records/x/", headers=_auth(key),
                         json={"data": {"email": "x@example.com"}}), 409, "conflict")
    wrong = _error(await api.post("/integrations/data-flows/", headers=_auth(key), json={
        "integration": integration, "name": "Bad", "direction": "outbound",
        "stream": "contacts", "source_fields": ["email", "firstName"],
        "target_fields": ["email", "first_name"]}), 422, "invalid")
    assert wrong["details"][0]["field"] == "target_fields[1]"
    _error(await api.post(f"/integrations/conflicts/{uuid.uuid4()}/resolve/",
                          headers=_auth(key), json={"keep": "both"}), 422, "invalid")
    _error(await api.post(f"/integrations/conflicts/{uuid.uuid4()}/resolve/",
                          headers=_auth(key), json={"keep": "local"}), 404, "not_found")


async def test_members_change_records_and_settle_conflicts_viewers_only_read(
        api, services: Services, tenant, sandbox) -> None:
    caller, owner_key = tenant
    member_key, viewer_key = await _member_and_viewer(services, caller.tenant_id)
    flow = await _flow(api, owner_key, await _hubspot(api, owner_key, sandbox.url))
    url = f"/integrations/data-flows/{flow}/records/ada/"
    body = {"data": {"email": "ada@example.com"}}
    _error(await api.put(url, headers=_auth(viewer_key), json=body), 403, "forbidden")
    assert (await api.put(url, headers=_auth(member_key), json=body)).status_code == 201
    assert (await api.get(url, headers=_auth(viewer_key))).status_code == 200
    assert (await api.get("/integrations/conflicts/", headers=_auth(viewer_key))).json() == []
    _error(await api.post(f"/integrations/conflicts/{uuid.uuid4()}/resolve/",
                          headers=_auth(viewer_key), json={"keep": "local"}), 403, "forbidden")
    assert (await api.get(url)).status_code == 401


async def test_a_both_ways_conflict_over_rest(api, services: Services, tenant,
                                              sandbox) -> None:
    caller, key = tenant
    sandbox.sandboxes["hubspot"].counts_override = {"contacts": 3}
    integration = await _hubspot(api, key, sandbox.url)
    flow = await _flow(api, key, integration, name="Both", direction="bidirectional",
                       source_fields=["email", "firstname"],
                       target_fields=["email", "firstName"])
    assert (await _run(services, flow))["records_written"] == 3
    [first, *_] = (await api.get(f"/integrations/data-flows/{flow}/records/",
                                 headers=_auth(key))).json()
    contact = first["external_id"]
    await api.put(f"/integrations/data-flows/{flow}/records/{contact}/", headers=_auth(key),
                  json={"data": {"firstName": "Ours"}})
    async with services.db.session(caller.tenant_id) as session:
        row = await session.get(Integration, uuid.UUID(integration))
    assert row is not None
    async with open_connector(services.db, services.vault, services.queue, row,
                              "hubspot") as connector:
        await connector.client.send(Request("PATCH", f"/crm/v3/objects/contacts/{contact}",
                                            json={"properties": {"firstname": "Theirs"}}))
    await _run(services, flow)

    listed = await api.get("/integrations/conflicts/", headers=_auth(key),
                           params={"data_flow": flow, "status": "open"})
    assert listed.status_code == 200
    [conflict] = listed.json()
    assert (conflict["fields"], conflict["local"], conflict["remote"]) == (
        ["firstName"], {"firstName": "Ours"}, {"firstName": "Theirs"})
    one = await api.get(f"/integrations/conflicts/{conflict['id']}/", headers=_auth(key))
    assert one.json()["id"] == conflict["id"]
    settled = await api.post(f"/integrations/conflicts/{conflict['id']}/resolve/",
                             headers=_auth(key), json={"keep": "remote"})
    assert settled.status_code == 200, settled.text
    assert settled.json()["record"]["data"]["firstName"] == "Theirs"
    assert settled.json()["conflict"]["status"] == "resolved"
    again = await api.post(f"/integrations/conflicts/{conflict['id']}/resolve/",
                           headers=_auth(key), json={"keep": "local"})
    _error(again, 409, "conflict")
    resolved = await api.get("/integrations/conflicts/", headers=_auth(key),
                             params={"status": "resolved"})
    assert [c["id"] for c in resolved.json()] == [conflict["id"]]
    _error(await api.get("/integrations/conflicts/", headers=_auth(key),
                         params={"status": "maybe"}), 422, "invalid")
