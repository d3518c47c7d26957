"""Users and API keys over REST, owner only: a created key works, is shown once and never
again (not in a list, not in the audit log); a revoked key is refused at once; the only
owner stays; another tenant's user or key is a 404; lists page by cursor."""

from __future__ import annotations

import httpx

from store.accounts import create_user, issue_api_key
from store.models import Role
from tests.conftest import make_tenant
from tools.context import Caller, Services


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _member_key(services: Services, owner: Caller) -> str:
    async with services.db.transaction(owner.tenant_id) as session:
        user = await create_user(session, owner.tenant_id, "ann@acme.example", Role.admin)
        return await issue_api_key(session, user)


async def test_an_owner_manages_users(services: Services, api: httpx.AsyncClient) -> None:
    owner, key = await make_tenant(services, "acme")
    made = await api.post("/integrations/users/", headers=bearer(key),
                          json={"email": " Bob@Acme.Example ", "name": "Bob", "role": "viewer"})
    assert made.status_code == 201, made.text
    bob = made.json()
    assert bob["email"] == "bob@acme.example" and bob["role"] == "viewer"
    again = await api.post("/integrations/users/", headers=bearer(key),
                           json={"email": "bob@acme.example"})
    assert again.status_code == 409 and again.json()["error"]["details"][0]["field"] == "email"
    bad = await api.post("/integrations/users/", headers=bearer(key), json={"email": "bob"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "body.email"

    promoted = await api.patch(f"/integrations/users/{bob['id']}/", headers=bearer(key),
                               json={"role": "member"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "member"
    listed = (await api.get("/integrations/users/", headers=bearer(key))).json()
    assert {u["email"] for u in listed["items"]} == {owner.email, "bob@acme.example"}
    members = (await api.get("/integrations/users/", params={"role": "member"},
                             headers=bearer(key))).json()["items"]
    assert [u["email"] for u in members] == ["bob@acme.example"]

    removed = await api.delete(f"/integrations/users/{bob['id']}/", headers=bearer(key))
    assert removed.status_code == 204
    gone = await api.patch(f"/integrations/users/{bob['id']}/", headers=bearer(key),
                           json={"role": "admin"})
    assert gone.status_code == 404


async def test_the_only_owner_can_be_neither_demoted_nor_removed(
        services: Services, api: httpx.AsyncClient) -> None:
    owner, key = await make_tenant(services, "acme")
    demote = await api.patch(f"/integrations/users/{owner.user_id}/", headers=bearer(key),
                             json={"role": "admin"})
    assert demote.status_code == 409 and "only owner" in demote.json()["error"]["message"]
    remove = await api.delete(f"/integrations/users/{owner.user_id}/", headers=bearer(key))
    assert remove.status_code == 409
    second = (await api.post("/integrations/users/", headers=bearer(key),
                             json={"email": "co@acme.example", "role": "owner"})).json()
    assert (await api.patch(f"/integrations/users/{owner.user_id}/", headers=bearer(key),
                            json={"role": "admin"})).status_code == 200
    assert (await api.delete(f"/integrations/users/{second['id']}/",
                             headers=bearer(key))).status_code == 403  # key is an admin's now


async def test_only_an_owner_and_never_across_tenants(services: Services,
                                                      api: httpx.AsyncClient) -> None:
    owner, key = await make_tenant(services, "acme")
    admin_key = await _member_key(services, owner)
    for method, path in (("GET", "/integrations/users/"), ("GET", "/integrations/api-keys/"),
                         ("POST", "/integrations/api-keys/")):
        response = await api.request(method, path, headers=bearer(admin_key),
                                     json={"name": "ci"} if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert "owner" in response.json()["error"]["message"]
    _, other_key = await make_tenant(services, "globex")
    assert (await api.patch(f"/integrations/users/{owner.user_id}/", headers=bearer(other_key),
                            json={"name": "x"})).status_code == 404
    key_id = (await api.get("/integrations/api-keys/", headers=bearer(key))).json()[
        "items"][0]["id"]
    assert (await api.post(f"/integrations/api-keys/{key_id}/revoke/",
                           headers=bearer(other_key))).status_code == 404
    theirs = (await api.get("/integrations/users/", headers=bearer(other_key))).json()
    assert owner.email not in {u["email"] for u in theirs["items"]}


async def test_a_key_is_shown_once_works_and_is_revoked_at_once(
        services: Services, api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    made = await api.post("/integrations/api-keys/", headers=bearer(key), json={"name": "ci"})
    assert made.status_code == 201, made.text
    created = made.json()
    new_key = created["key"]
    assert new_key.startswith("cx_") and created["prefix"] == new_key[:10]
    assert (await api.get("/integrations/integrations/",
                          headers=bearer(new_key))).status_code == 200
    listed = await api.get("/integrations/api-keys/", headers=bearer(key))
    assert new_key not in listed.text and "key_hash" not in listed.text
    assert {k["name"] for k in listed.json()["items"]} == {"default", "ci"}
    audit = await api.get("/integrations/audit-log/", params={"action": "api_key."},
                          headers=bearer(key))
    assert new_key not in audit.text and audit.json()["items"][0]["action"] == "api_key.create"

    revoked = await api.post(f"/integrations/api-keys/{created['id']}/revoke/",
                             headers=bearer(key))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()
    refused = await api.get("/integrations/integrations/", headers=bearer(new_key))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    twice = await api.post(f"/integrations/api-keys/{created['id']}/revoke/",
                           headers=bearer(key))
    assert twice.status_code == 409
    live = (await api.get("/integrations/api-keys/", params={"revoked": "false"},
                          headers=bearer(key))).json()["items"]
    assert [k["name"] for k in live] == ["default"]


async def test_a_key_for_another_tenants_user_is_refused(services: Services,
                                                         api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    stranger, _ = await make_tenant(services, "globex")
    response = await api.post("/integrations/api-keys/", headers=bearer(key),
                              json={"name": "x", "user_id": str(stranger.user_id)})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "user_id"


async def test_lists_page_by_cursor_without_repeats_as_rows_are_added(
        services: Services, api: httpx.AsyncClient) -> None:
    _, key = await make_tenant(services, "acme")
    for n in range(4):
        await api.post("/integrations/users/", headers=bearer(key),
                       json={"email": f"u{n}@acme.example"})
    first = (await api.get("/integrations/users/", params={"limit": 2},
                           headers=bearer(key))).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    # a row added between pages lands before the cursor: neither repeated nor shifting
    await api.post("/integrations/users/", headers=bearer(key), json={"email": "late@acme.example"})
    seen = [u["email"] for u in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await api.get("/integrations/users/", params={"limit": 2, "cursor": cursor},
                              headers=bearer(key))).json()
        seen += [u["email"] for u in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5 and "late@acme.example" not in seen
    bad = await api.get("/integrations/users/", params={"cursor": "nonsense"},
                        headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "cursor"
