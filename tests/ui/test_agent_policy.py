"""The agent policy over REST: anyone reads it, an admin changes it (audited), bad values
are a 422 naming the field, and a changed threshold changes who may confirm a write."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update

import agent
from store.accounts import create_user, issue_api_key
from store.models import AuditLog, Integration, Role
from tests.agent.conftest import hubspot_with_flow
from tests.agent.scripted import ScriptedModel, call, say
from tests.conftest import make_tenant
from tools.context import Caller, Services

POLICY = "/integrations/connectus/agent_policy/"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _user(services: Services, owner: Caller, role: Role) -> tuple[Caller, str]:
    async with services.db.transaction(owner.tenant_id) as session:
        user = await create_user(session, owner.tenant_id, f"{role.value}2@acme.example", role)
        key = await issue_api_key(session, user)
    return Caller(tenant_id=owner.tenant_id, user_id=user.id, role=role), key


async def test_a_lower_threshold_makes_a_members_sync_need_an_admin(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    owner, owner_key = await make_tenant(services, "acme")
    await hubspot_with_flow(services, owner, sandbox.url)
    async with services.db.transaction(owner.tenant_id) as session:
        # one call of 100 left: 1% of the quota, under the default 50%
        await session.execute(update(Integration).values(api_calls_limit=100,
                                                         api_calls_today=0))
    member, member_key = await _user(services, owner, Role.member)

    def sync(call_id: str) -> ScriptedModel:
        return ScriptedModel(script=[call("sync_now", call_id, integration="hubspot")])

    before = await agent.ask(services, member, "sync hubspot", model=sync("call_1"))
    assert before.pending is not None and before.pending["needs_role"] == "member"

    changed = await api.patch(POLICY, json={"admin_above_quota_share": 0.005},
                              headers=bearer(owner_key))
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"admin_above_records": 10_000, "admin_above_quota_share": 0.005,
                              "undo_window_s": 86_400}

    after = await agent.ask(services, member, "sync hubspot", model=sync("call_2"))
    assert after.pending is not None and after.pending["needs_role"] == "admin"
    assert any("an admin must confirm" in n for n in after.pending["preview"]["notes"])
    refused = await api.post(
        f"/integrations/connectus/confirmations/{after.pending['id']}/confirm/",
        headers=bearer(member_key))
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    done = await agent.confirm(services, owner, uuid.UUID(after.pending["id"]),
                               model=ScriptedModel(script=[say("Started.")]))
    assert done.text == "Started."

    async with services.db.session(owner.tenant_id) as session:
        entry = await session.scalar(select(AuditLog).where(
            AuditLog.action == "agent_policy.update"))
    assert entry is not None and entry.user_id == owner.user_id
    assert entry.details == {"before": {"admin_above_quota_share": 0.5},
                             "after": {"admin_above_quota_share": 0.005}}


async def test_anyone_reads_it_and_only_an_admin_changes_it(
        services: Services, api: httpx.AsyncClient) -> None:
    owner, _ = await make_tenant(services, "acme")
    _, viewer_key = await _user(services, owner, Role.viewer)
    read = await api.get(POLICY, headers=bearer(viewer_key))
    assert read.status_code == 200
    assert read.json()["admin_above_records"] == 10_000  # the default, no row yet
    refused = await api.patch(POLICY, json={"admin_above_records": 5},
                              headers=bearer(viewer_key))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    _, admin_key = await _user(services, owner, Role.admin)
    ok = await api.patch(POLICY, json={"admin_above_records": 5, "undo_window_s": 3600},
                         headers=bearer(admin_key))
    assert ok.status_code == 200
    assert (await api.get(POLICY, headers=bearer(viewer_key))).json() == {
        "admin_above_records": 5, "admin_above_quota_share": 0.5, "undo_window_s": 3600}
    # another tenant keeps its own defaults
    _, other_key = await make_tenant(services, "globex")
    assert (await api.get(POLICY, headers=bearer(other_key))).json()["admin_above_records"] \
        == 10_000


async def test_out_of_range_values_name_the_field_and_change_nothing(
        services: Services, api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    for body, field in (({"admin_above_quota_share": 1.5}, "admin_above_quota_share"),
                        ({"admin_above_records": -1}, "admin_above_records"),
                        ({"admin_above_records": "many"}, "admin_above_records"),
                        ({"undo_window_s": 31 * 24 * 3600}, "undo_window_s"),
                        ({"admin_above_records": None}, "admin_above_records"),
                        ({"admin_above_records": 1, "surprise": 1}, "surprise")):
        response = await api.patch(POLICY, json=body, headers=bearer(key))
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "invalid" and field in error["details"][0]["field"], error
    assert (await api.get(POLICY, headers=bearer(key))).json()["admin_above_records"] == 10_000
