"""The insights REST door: list with filters and pages, recommendations most urgent first,
one insight, mark read and resolve with audit entries, role checks, another tenant's
insight a 404, bad filters a 422 naming the parameter, and the agent's routes left alone."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from store.accounts import create_user, issue_api_key
from store.models import AuditLog, Role
from tests.jobs.insights.kit import HOUR, NOW, History, make_history
from tools.context import Services

BASE = "/integrations/connectus/"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def troubled(services: Services, slug: str = "acme") -> History:
    """A failing flow (high) and an idle hourly one advised daily (low)."""
    history = await make_history(services, slug=slug)
    failing = await history.flow("Failing Sync", frequency="manual")
    await history.runs(failing, [NOW - 2 * HOUR, NOW - HOUR], status="failed")
    idle = await history.flow("Idle Sync")
    await history.runs(idle, [NOW - n * HOUR for n in range(30, 0, -1)])
    await history.tick()
    return history


async def key_for(services: Services, history: History, role: Role) -> str:
    async with services.db.transaction(None) as session:
        user = await create_user(session, history.tenant_id, f"{role.value}2@acme.example", role)
        return await issue_api_key(session, user)


async def test_list_filter_and_page(services: Services, api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    everything = (await api.get(BASE, headers=auth(history.key))).json()
    assert everything["total"] == 2
    assert {i["detector"] for i in everything["items"]} == {"failing_sync", "sync_frequency"}

    high = (await api.get(BASE, params={"priority": "high", "integration": "hubspot"},
                          headers=auth(history.key))).json()
    assert [i["detector"] for i in high["items"]] == ["failing_sync"]
    page = (await api.get(BASE, params={"limit": 1, "offset": 1},
                          headers=auth(history.key))).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["id"] != everything["items"][0]["id"]
    unread = (await api.get(BASE, params={"is_read": "false", "is_resolved": "false"},
                            headers=auth(history.key))).json()
    assert unread["total"] == 2


async def test_recommendations_most_urgent_first(services: Services,
                                                 api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    found = (await api.get(BASE + "recommendations/", headers=auth(history.key))).json()
    assert [r["priority"] for r in found] == ["high", "low"]
    assert found[0]["integration_name"] == "hubspot"
    assert "Fix the cause" in found[0]["recommendation"]


async def test_mark_read_and_resolve_leave_audit_entries(services: Services,
                                                         api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    insight = (await history.insights("failing_sync"))[0]
    url = f"{BASE}{insight.id}/"

    read = await api.patch(url, json={"is_read": True}, headers=auth(history.key))
    assert read.status_code == 200 and read.json()["is_read"] is True
    resolved = await api.post(url + "resolve/", headers=auth(history.key))
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["is_resolved"] is True and resolved.json()["resolved_by"] == "person"
    assert (await api.get(url, headers=auth(history.key))).json()["is_resolved"] is True

    async with services.db.session(history.tenant_id) as session:
        actions = (await session.scalars(select(AuditLog.action).where(
            AuditLog.target_id == str(insight.id)))).all()
    assert sorted(actions) == ["insight.read", "insight.resolved"]
    listed = (await api.get(BASE, params={"is_resolved": "false"},
                            headers=auth(history.key))).json()
    assert [i["detector"] for i in listed["items"]] == ["sync_frequency"]


async def test_a_viewer_reads_but_does_not_change(services: Services,
                                                  api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    viewer = await key_for(services, history, Role.viewer)
    insight = (await history.insights("failing_sync"))[0]

    assert (await api.get(BASE, headers=auth(viewer))).status_code == 200
    refused = await api.post(f"{BASE}{insight.id}/resolve/", headers=auth(viewer))
    assert refused.status_code == 403
    assert "member" in refused.json()["error"]["message"]
    assert (await api.patch(f"{BASE}{insight.id}/", json={"is_read": True},
                            headers=auth(viewer))).status_code == 403
    assert not (await history.insights("failing_sync"))[0].is_resolved


async def test_another_tenants_insight_is_not_found(services: Services,
                                                    api: httpx.AsyncClient) -> None:
    ours = await troubled(services)
    theirs = await troubled(services, slug="globex")
    insight = (await theirs.insights("failing_sync"))[0]

    for response in (await api.get(f"{BASE}{insight.id}/", headers=auth(ours.key)),
                     await api.post(f"{BASE}{insight.id}/resolve/", headers=auth(ours.key)),
                     await api.patch(f"{BASE}{insight.id}/", json={"is_read": True},
                                     headers=auth(ours.key))):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert not (await theirs.insights("failing_sync"))[0].is_read
    assert (await api.get(f"{BASE}{uuid.uuid4()}/", headers=auth(ours.key))).status_code == 404


async def test_bad_filters_name_the_parameter(services: Services,
                                              api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    for params, field in (({"priority": "urgent"}, "priority"), ({"limit": 0}, "limit"),
                          ({"insight_type": "gossip"}, "insight_type")):
        response = await api.get(BASE, params=params, headers=auth(history.key))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == field
    bad = await api.patch(f"{BASE}{uuid.uuid4()}/", json={"is_read": "maybe"},
                          headers=auth(history.key))
    assert bad.status_code == 422
    unknown = await api.get(BASE, params={"integration": "nope"}, headers=auth(history.key))
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


async def test_the_agents_routes_are_not_taken_for_an_insight_id(
        services: Services, api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    for path in ("ask_connectus/", "confirmations/"):
        for method in ("GET", "POST", "PATCH"):
            response = await api.request(method, BASE + path, headers=auth(history.key))
            if (method, path) == ("POST", "ask_connectus/"):  # the agent's own route
                assert response.status_code == 422, response.text
                assert response.json()["error"]["details"][0]["field"] == "body"
            elif (method, path) == ("GET", "confirmations/"):  # the pending ones, listed
                assert response.status_code == 200 and response.json()["items"] == []
            else:
                assert response.status_code in (404, 405), (method, path, response.text)


async def test_settings_are_an_admins(services: Services, api: httpx.AsyncClient) -> None:
    history = await troubled(services)
    member = await key_for(services, history, Role.member)
    assert (await api.patch(BASE + "settings/", json={"auto_tune_frequency": True},
                            headers=auth(member))).status_code == 403
    changed = await api.patch(BASE + "settings/", json={"auto_tune_frequency": True},
                              headers=auth(history.key))
    assert changed.json() == {"auto_tune_frequency": True, "slack_warnings": True}
    assert (await api.get(BASE + "settings/", headers=auth(member))).json() == changed.json()
    assert (await api.patch(BASE + "settings/", json={"auto_tune_frequency": None},
                            headers=auth(history.key))).status_code == 422
