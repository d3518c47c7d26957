"""Data flows over REST: the brief's example against the sandbox HubSpot, the error
shape for bad configurations, filters, roles, and test_mapping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from store.accounts import create_user, issue_api_key
from store.models import Role
from tests.conftest import make_tenant
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _hubspot(api: httpx.AsyncClient, key: str, sandbox_url: str,
                   name: str = "HubSpot (sandbox)") -> str:
    made = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "hubspot", "name": name, "credentials": {"access_token": "sandbox"},
        "settings": {"sandbox_url": sandbox_url}})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _brief(integration: str) -> dict[str, Any]:
    return {"integration": integration, "name": "Contacts Sync", "direction": "inbound",
            "stream": "contacts", "source_fields": ["email", "firstname", "lastname"],
            "target_fields": ["email", "firstName", "lastName"], "sync_frequency": "hourly"}


async def test_the_briefs_example_as_written(api, tenant, sandbox) -> None:
    _, key = tenant
    integration = await _hubspot(api, key, sandbox.url)
    created = await api.post("/integrations/data-flows/", headers=_auth(key),
                             json=_brief(integration))
    assert created.status_code == 201, created.text
    flow = created.json()
    assert flow["integration"] == integration and flow["sync_frequency"] == "hourly"
    assert [m["target"] for m in flow["mappings"]] == ["email", "firstName", "lastName"]
    one = await api.get(f"/integrations/data-flows/{flow['id']}/", headers=_auth(key))
    assert one.status_code == 200
    shown = one.json()
    assert {k: shown[k] for k in ("records_processed", "records_failed", "status",
                                  "last_run_at", "last_run")} == {
        "records_processed": 0, "records_failed": 0, "status": "active",
        "last_run_at": None, "last_run": None}

    tried = await api.post(f"/integrations/data-flows/{flow['id']}/test_mapping/",
                           headers=_auth(key))
    assert tried.status_code == 200, tried.text
    report = tried.json()
    assert report["source"] == "live" and len(report["records"]) == 5
    sample = report["records"][0]
    assert sample["after"]["firstName"] == sample["before"]["properties"]["firstname"]

    other = await _hubspot(api, key, sandbox.url, name="Second")
    listed = await api.get("/integrations/data-flows/", headers=_auth(key),
                           params={"integration": other})
    assert listed.json() == []
    listed = await api.get("/integrations/data-flows/", headers=_auth(key),
                           params={"integration": integration})
    assert [f["id"] for f in listed.json()] == [flow["id"]]

    patched = await api.patch(f"/integrations/data-flows/{flow['id']}/", headers=_auth(key),
                              json={"sync_frequency": "cron",
                                    "schedule": {"cron": "0 6 * * 1-5",
                                                 "timezone": "Europe/Berlin"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["next_run_at"] is not None
    gone = await api.delete(f"/integrations/data-flows/{flow['id']}/", headers=_auth(key))
    assert gone.status_code == 204
    missing = await api.get(f"/integrations/data-flows/{flow['id']}/", headers=_auth(key))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"source_fields": ["email", "first_name", "lastname"]}, "source_fields[1]",
     "source_fields[1]: unknown field 'first_name'; did you mean 'firstname'?"),
    ({"stream": "contactz"}, "stream", "stream: hubspot has no stream 'contactz'; did you "
     "mean 'contacts'? (streams: contacts, companies, deals)"),
    ({"target_fields": ["email"]}, "target_fields",
     "target_fields: has 1 fields but source_fields has 3; they pair up one to one"),
    ({"transformation_rules": {"email": [{"rule": "regex_extract", "pattern": "(.*)*@"}]}},
     "transformation_rules.email[0].pattern", "transformation_rules.email[0].pattern: may "
     "backtrack without bound"),
    ({"sync_frequency": "cron", "schedule": {"cron": "every day"}}, "schedule.cron",
     "schedule.cron: 'every day' is not a cron expression of five fields"),
    ({"sync_frequency": "fortnightly"}, "body.sync_frequency", "invalid request: "
     "body.sync_frequency: Input should be 'realtime', 'hourly', 'daily', 'weekly', "
     "'manual' or 'cron'"),
    ({"direction": "sideways"}, "body.direction", "invalid request: body.direction: Input "
     "should be 'inbound', 'outbound' or 'bidirectional'"),
]


@pytest.mark.parametrize(("over", "field", "message"), BAD, ids=[f for _, f, _ in BAD])
async def test_bad_flows_get_a_422_naming_the_field(api, tenant, sandbox, over: dict[str, Any],
                                                    field: str, message: str) -> None:
    _, key = tenant
    integration = await _hubspot(api, key, sandbox.url)
    refused = await api.post("/integrations/data-flows/", headers=_auth(key),
                             json={**_brief(integration), **over})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"][0]["field"] == field
    assert error["message"].startswith(message)
    assert (await api.get("/integrations/data-flows/", headers=_auth(key))).json() == []


async def test_test_mapping_on_given_records(api, tenant, sandbox) -> None:
    _, key = tenant
    integration = await _hubspot(api, key, sandbox.url)
    body = {**_brief(integration), "source_fields": [], "target_fields": [], "mappings": [
        {"source": "email", "target": "email", "rules": ["trim", "email"]},
        {"source": ["firstname", "lastname"], "target": "name",
         "rules": [{"rule": "concat"}, {"rule": "case", "to": "title"}]}]}
    flow = (await api.post("/integrations/data-flows/", headers=_auth(key), json=body)).json()
    tried = await api.post(f"/integrations/data-flows/{flow['id']}/test_mapping/",
                           headers=_auth(key), json={"records": [
                               {"properties": {"email": " X@Y.COM", "firstname": "ada",
                                               "lastname": "lovelace"}},
                               {"properties": {"email": "broken"}}]})
    assert tried.status_code == 200, tried.text
    report = tried.json()
    assert report["records"][0]["after"] == {"email": "x@y.com", "name": "Ada Lovelace"}
    assert report["records"][1]["errors"][0]["field"] == "email"
    assert report["records"][1]["errors"][0]["rule_index"] == 1
    assert (report["mapped"], report["failed"]) == (1, 1)
    too_many = await api.post(f"/integrations/data-flows/{flow['id']}/test_mapping/",
                              headers=_auth(key), json={"limit": 500})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "body.limit"


async def test_viewers_read_but_cannot_write(api, services: Services, tenant, sandbox) -> None:
    owner, key = tenant
    integration = await _hubspot(api, key, sandbox.url)
    flow = (await api.post("/integrations/data-flows/", headers=_auth(key),
                           json=_brief(integration))).json()
    async with services.db.transaction(None) as session:
        user = await create_user(session, owner.tenant_id, "viewer@acme.example", Role.viewer)
        viewer_key = await issue_api_key(session, user)
    seen = await api.get("/integrations/data-flows/", headers=_auth(viewer_key))
    assert [f["id"] for f in seen.json()] == [flow["id"]]
    for method, path in (("PATCH", f"{flow['id']}/"), ("DELETE", f"{flow['id']}/"),
                         ("POST", f"{flow['id']}/test_mapping/")):
        denied = await api.request(method, f"/integrations/data-flows/{path}",
                                   headers=_auth(viewer_key), json={})
        assert denied.status_code == 403, (method, path, denied.text)
    _, other_key = await make_tenant(services, "globex")
    hidden = await api.get(f"/integrations/data-flows/{flow['id']}/", headers=_auth(other_key))
    assert hidden.status_code == 404
    refused = await api.post("/integrations/data-flows/", headers=_auth(viewer_key),
                             json=_brief(integration))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    nobody = await api.get("/integrations/data-flows/")
    assert nobody.status_code == 401


async def test_the_routes_are_in_the_openapi_schema(api) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert set(paths["/integrations/data-flows/"]) == {"get", "post"}
    assert set(paths["/integrations/data-flows/{flow_id}/"]) == {"get", "patch", "delete"}
    assert "422" in paths["/integrations/data-flows/{flow_id}/test_mapping/"]["post"][
        "responses"]


async def test_the_briefs_contacts_sync_syncs_when_sync_now_is_called(
        api, services: Services, tenant, sandbox, redis_url: str) -> None:
    """Created over REST as the brief writes it, then sync_now, then a worker: every
    sandbox contact lands with the brief's target names, and the flow shows the run."""
    from sqlalchemy import select

    from store.models import SyncedRecord
    from tests.queued_jobs import run_queued_jobs

    caller, key = tenant
    sandbox.sandboxes["hubspot"].counts_override = {"contacts": 130}
    integration = await _hubspot(api, key, sandbox.url)
    flow = (await api.post("/integrations/data-flows/", headers=_auth(key),
                           json=_brief(integration))).json()
    queued = await api.post(f"/integrations/integrations/{integration}/sync_now/",
                            headers=_auth(key))
    assert queued.status_code == 202, queued.text
    await run_queued_jobs(services, redis_url)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.scalars(select(SyncedRecord))).all()
    assert len(rows) == 130 and len({r.external_id for r in rows}) == 130
    assert all(set(r.data) == {"email", "firstName", "lastName"} for r in rows)
    assert all(r.data["email"] and "@" in r.data["email"] for r in rows)
    shown = (await api.get(f"/integrations/data-flows/{flow['id']}/",
                           headers=_auth(key))).json()
    assert shown["records_processed"] == 130 and shown["last_run"]["status"] == "succeeded"
