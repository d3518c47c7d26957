"""Health logs over REST: filtered by integration, severity and time, paged, resolved by
a member with a note (who and when are kept, the write is audited), never across
tenants; bad filters get a 422 that names the filter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from jobs.health.refresh import refresh_health
from store.accounts import create_user, issue_api_key
from store.models import AuditLog, HealthLog, Integration, IntegrationProvider, Role
from tests.conftest import make_tenant
from tools.context import Caller, Services

NOW = datetime.now(UTC)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _history(services: Services, caller: Caller) -> dict[str, uuid.UUID]:
    """Two integrations; HubSpot has an old warning, a recent error and a recent critical,
    Slack one recent info."""
    async with services.db.transaction(caller.tenant_id) as session:
        providers = {p.name: p.id for p in await session.scalars(select(IntegrationProvider))}
        rows = {name: Integration(provider_id=providers[name], name=name, status="active")
                for name in ("hubspot", "slack")}
        session.add_all(rows.values())
        await session.flush()
        for integration, severity, hours_ago, message in (
                ("hubspot", "warning", 30, "HubSpot slowed us down (TEN_SECONDLY_ROLLING)"),
                ("hubspot", "error", 2, "HubSpot answered 502"),
                ("hubspot", "critical", 1, "HubSpot refused the token"),
                ("slack", "info", 1, "Slack channel renamed")):
            session.add(HealthLog(integration_id=rows[integration].id, severity=severity,
                                  category="provider_down", message=message,
                                  created_at=NOW - timedelta(hours=hours_ago)))
    return {name: row.id for name, row in rows.items()}


async def _list(api: httpx.AsyncClient, key: str, **params: Any) -> httpx.Response:
    return await api.get("/integrations/health-logs/", params=params, headers=bearer(key))


async def test_filters_by_integration_severity_and_time(services: Services,
                                                        api: httpx.AsyncClient) -> None:
    caller, key = await make_tenant(services, "acme")
    ids = await _history(services, caller)
    everything = (await _list(api, key)).json()
    stamps = [i["created_at"] for i in everything["items"]]
    assert len(stamps) == 4 and stamps == sorted(stamps, reverse=True)  # newest first
    hubspot = (await _list(api, key, integration=str(ids["hubspot"]))).json()["items"]
    assert {i["integration"] for i in hubspot} == {"hubspot"} and len(hubspot) == 3
    errors = (await _list(api, key, severity="error")).json()["items"]
    assert [i["message"] for i in errors] == ["HubSpot answered 502"]
    since = (NOW - timedelta(hours=24)).isoformat()
    recent = (await _list(api, key, integration=str(ids["hubspot"]), since=since)).json()
    assert [i["severity"] for i in recent["items"]] == ["critical", "error"]  # newest first
    until = (NOW - timedelta(hours=24)).isoformat()
    assert [i["severity"] for i in (await _list(api, key, until=until)).json()["items"]] == [
        "warning"]


async def test_pages_follow_the_cursor_to_the_end(services: Services,
                                                  api: httpx.AsyncClient) -> None:
    caller, key = await make_tenant(services, "acme")
    await _history(services, caller)
    seen, cursor = [], None
    while True:
        page = (await _list(api, key, limit=3, **({"cursor": cursor} if cursor else {})))
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4


async def test_a_member_resolves_with_a_note_and_it_is_kept_and_audited(
        services: Services, api: httpx.AsyncClient) -> None:
    owner, _ = await make_tenant(services, "acme")
    ids = await _history(services, owner)
    async with services.db.transaction(None) as session:
        member = await create_user(session, owner.tenant_id, "member@acme.example", Role.member)
        member_key = await issue_api_key(session, member)
    await refresh_health(services.db, services.vault, owner.tenant_id)  # as the cron would
    [critical] = (await _list(api, member_key, severity="critical")).json()["items"]
    viewed = (await api.get(f"/integrations/integrations/{ids['hubspot']}/",
                            headers=bearer(member_key))).json()
    before = viewed["health_score"]
    [reason] = viewed["health_reasons"]  # the integration says why, as the summary does
    assert reason["input"] == "errors" and "HubSpot refused the token" in reason["reason"]
    done = await api.post(f"/integrations/health-logs/{critical['id']}/resolve/",
                          json={"note": "Reconnected HubSpot with a fresh private-app token"},
                          headers=bearer(member_key))
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["resolved"] and body["resolved_by"] == "member@acme.example"
    assert body["resolution"] == "Reconnected HubSpot with a fresh private-app token"
    assert body["resolved_at"] is not None
    open_only = (await _list(api, member_key, resolved="false")).json()["items"]
    assert critical["id"] not in {i["id"] for i in open_only}
    after = (await api.get(f"/integrations/integrations/{ids['hubspot']}/",
                           headers=bearer(member_key))).json()["health_score"]
    assert after > before  # an open critical costs points, a resolved one does not
    async with services.db.session(owner.tenant_id) as session:
        [entry] = (await session.scalars(select(AuditLog).where(
            AuditLog.action == "health_log.resolve"))).all()
    assert entry.user_id == member.id and entry.target_id == critical["id"]
    again = await api.post(f"/integrations/health-logs/{critical['id']}/resolve/",
                           json={"note": "twice"}, headers=bearer(member_key))
    assert again.status_code == 409 and "already resolved" in again.json()["error"]["message"]


async def test_a_viewer_reads_but_may_not_resolve(services: Services,
                                                  api: httpx.AsyncClient) -> None:
    owner, _ = await make_tenant(services, "acme")
    await _history(services, owner)
    async with services.db.transaction(None) as session:
        viewer = await create_user(session, owner.tenant_id, "viewer@acme.example", Role.viewer)
        viewer_key = await issue_api_key(session, viewer)
    [first, *_] = (await _list(api, viewer_key)).json()["items"]
    refused = await api.post(f"/integrations/health-logs/{first['id']}/resolve/",
                             json={"note": "looked at it"}, headers=bearer(viewer_key))
    assert refused.status_code == 403 and "member" in refused.json()["error"]["message"]
    async with services.db.session(owner.tenant_id) as session:
        row = await session.get(HealthLog, uuid.UUID(first["id"]))
    assert row is not None and row.resolved_at is None


async def test_another_tenants_log_is_not_found(services: Services,
                                                api: httpx.AsyncClient) -> None:
    theirs, _ = await make_tenant(services, "other")
    ids = await _history(services, theirs)
    _, key = await make_tenant(services, "acme")
    async with services.db.session(theirs.tenant_id) as session:
        log_id = await session.scalar(select(HealthLog.id).limit(1))
    resolved = await api.post(f"/integrations/health-logs/{log_id}/resolve/",
                              json={"note": "not mine"}, headers=bearer(key))
    assert resolved.status_code == 404
    assert (await _list(api, key)).json()["items"] == []
    listed = await _list(api, key, integration=str(ids["hubspot"]))
    assert listed.status_code == 404


async def test_bad_filters_and_notes_get_a_422_naming_them(services: Services,
                                                           api: httpx.AsyncClient) -> None:
    caller, key = await make_tenant(services, "acme")
    await _history(services, caller)
    for params, field in (({"severity": "fatal"}, "severity"),
                          ({"since": "last tuesday"}, "since"),
                          ({"integration": "hubspot"}, "integration"),
                          ({"limit": "0"}, "limit"),
                          ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor")):
        found = await _list(api, key, **params)
        assert found.status_code == 422, (params, found.text)
        assert field in found.json()["error"]["message"], found.text
    later, earlier = NOW.isoformat(), (NOW - timedelta(days=1)).isoformat()
    swapped = await _list(api, key, since=later, until=earlier)
    assert swapped.status_code == 422 and "since" in swapped.json()["error"]["message"]
    async with services.db.session(caller.tenant_id) as session:
        log_id = await session.scalar(select(HealthLog.id).limit(1))
    for body in ({"note": ""}, {}, {"note": "x" * 2001}, {"note": "ok", "extra": 1}):
        refused = await api.post(f"/integrations/health-logs/{log_id}/resolve/", json=body,
                                 headers=bearer(key))
        assert refused.status_code == 422, (body, refused.text)
        assert "note" in refused.text or "extra" in refused.text
