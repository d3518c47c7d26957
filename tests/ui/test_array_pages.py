"""The brief's lists (integrations, data flows, workflows) keep their plain-array bodies and
still page: `limit` and `cursor`, the next page named in `Link` and `X-Next-Cursor`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from store.models import DeadLetter
from tests.conftest import make_tenant
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _integration(api: httpx.AsyncClient, key: str, sandbox_url: str, name: str) -> str:
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "hubspot", "name": name, "credentials": {"access_token": "sandbox"},
        "settings": {"sandbox_url": sandbox_url}})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _walk(api: httpx.AsyncClient, key: str, url: str) -> list[list[str]]:
    pages: list[list[str]] = []
    while url:
        answer = await api.get(url, headers=_auth(key))
        assert answer.status_code == 200, answer.text
        pages.append([item["name"] for item in answer.json()])
        link = answer.headers.get("Link")
        assert (link is None) == ("X-Next-Cursor" not in answer.headers)
        url = link.split(";")[0].strip("<>").removeprefix("http://connectus.test") if link else ""
    return pages


async def test_integrations_page_oldest_first_and_a_row_added_meanwhile_comes_once(
        api: httpx.AsyncClient, tenant: tuple, sandbox) -> None:
    _, key = tenant
    for n in range(5):
        await _integration(api, key, sandbox.url, f"I{n}")
    first = await api.get("/integrations/integrations/?limit=2", headers=_auth(key))
    assert [i["name"] for i in first.json()] == ["I0", "I1"]
    await _integration(api, key, sandbox.url, "I5")  # added while the client pages
    cursor = first.headers["X-Next-Cursor"]
    rest = await _walk(api, key, f"/integrations/integrations/?limit=2&cursor={cursor}")
    assert rest == [["I2", "I3"], ["I4", "I5"]]
    everything = await api.get("/integrations/integrations/", headers=_auth(key))
    assert len(everything.json()) == 6 and "Link" not in everything.headers


async def test_flows_and_workflows_page_and_stay_in_their_tenant(
        api: httpx.AsyncClient, tenant: tuple, sandbox, services: Services) -> None:
    _, key = tenant
    integration = await _integration(api, key, sandbox.url, "HubSpot")
    for n in range(3):
        flow = await api.post("/integrations/data-flows/", headers=_auth(key), json={
            "integration": integration, "name": f"F{n}", "direction": "inbound",
            "stream": "contacts", "source_fields": ["email"], "target_fields": ["email"],
            "sync_frequency": "daily"})
        assert flow.status_code == 201, flow.text
        workflow = await api.post("/integrations/workflows/", headers=_auth(key), json={
            "integration": integration, "name": f"W{n}", "trigger_type": "manual",
            "actions": [{"type": "create_contact", "target": "digisol_crm"}]})
        assert workflow.status_code == 201, workflow.text
    _, other = await make_tenant(services, "pages-other")
    for url, prefix in (("/integrations/data-flows/", "F"), ("/integrations/workflows/", "W")):
        assert await _walk(api, key, f"{url}?limit=2") == [[f"{prefix}0", f"{prefix}1"],
                                                           [f"{prefix}2"]]
        assert await _walk(api, other, f"{url}?limit=2") == [[]]


async def test_workflow_runs_page_newest_first(api: httpx.AsyncClient, tenant: tuple,
                                              sandbox) -> None:
    _, key = tenant
    integration = await _integration(api, key, sandbox.url, "HubSpot")
    workflow = await api.post("/integrations/workflows/", headers=_auth(key), json={
        "integration": integration, "name": "Manual", "trigger_type": "manual",
        "actions": [{"type": "create_contact", "target": "digisol_crm"}]})
    started = []
    for n in range(3):
        run = await api.post(f"/integrations/workflows/{workflow.json()['id']}/execute/",
                             headers=_auth(key), json={"payload": {"n": n}})
        assert run.status_code in (200, 202), run.text
        started.append(run.json())
    first = await api.get("/integrations/workflow-runs/?limit=2", headers=_auth(key))
    second = await api.get("/integrations/workflow-runs/?limit=2&cursor="
                           f"{first.headers['X-Next-Cursor']}", headers=_auth(key))
    ids = [r["id"] for r in first.json() + second.json()]
    assert len(ids) == len(set(ids)) == 3 and "Link" not in second.headers
    times = [r["started_at"] for r in first.json() + second.json()]
    assert times == sorted(times, reverse=True)


async def test_a_flow_s_dead_letters_page_newest_first(
        api: httpx.AsyncClient, tenant: tuple, sandbox, services: Services) -> None:
    caller, key = tenant
    integration = await _integration(api, key, sandbox.url, "HubSpot")
    flow = await api.post("/integrations/data-flows/", headers=_auth(key), json={
        "integration": integration, "name": "F", "direction": "inbound", "stream": "contacts",
        "source_fields": ["email"], "target_fields": ["email"], "sync_frequency": "daily"})
    async with services.db.transaction(caller.tenant_id) as session:
        for n in range(3):
            session.add(DeadLetter(tenant_id=caller.tenant_id, data_flow_id=flow.json()["id"],
                                   external_id=f"r{n}",
                                   created_at=datetime.now(UTC) + timedelta(seconds=n)))
    url = f"/integrations/data-flows/{flow.json()['id']}/dead-letters/?limit=2"
    first = await api.get(url, headers=_auth(key))
    second = await api.get(f"{url}&cursor={first.headers['X-Next-Cursor']}", headers=_auth(key))
    assert [d["external_id"] for d in first.json() + second.json()] == ["r2", "r1", "r0"]
    assert "Link" not in second.headers


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=201", "limit"), ("cursor=not-ours", "cursor")])
async def test_a_bad_limit_or_cursor_is_named(api: httpx.AsyncClient, tenant: tuple,
                                              query: str, field: str) -> None:
    _, key = tenant
    # they clamp a limit
    runs = ("/integrations/sync-runs/", "/integrations/workflow-runs/",
            "/integrations/workflow-dead-letters/")
    for url in ("/integrations/integrations/", "/integrations/data-flows/",
                "/integrations/workflows/", *(runs if field == "cursor" else ())):
        answer = await api.get(f"{url}?{query}", headers=_auth(key))
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["details"][0]["field"] == field
