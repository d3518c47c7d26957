"""Managing integrations over REST: CRUD, write-only credentials, roles, tenancy, tests."""

import httpx
import psycopg
from sqlalchemy import select

from store.models import ApiUsage, HealthLog, Role
from tests.conftest import make_tenant
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _create(api: httpx.AsyncClient, key: str, sandbox_url: str, **over) -> httpx.Response:
    body = {"provider": "hubspot", "name": "HubSpot (sandbox)",
            "credentials": {"access_token": "sandbox"},
            "settings": {"sandbox_url": sandbox_url}, **over}
    return await api.post("/integrations/integrations/", json=body, headers=_auth(key))


async def test_create_get_update_delete(api, tenant, sandbox) -> None:
    _, key = tenant
    created = await _create(api, key, sandbox.url)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["provider"] == "hubspot" and body["status"] == "pending"
    assert "credentials" not in body and "auth_credentials" not in body
    assert body["credential_hint"] == "access_token: •••••••"
    one = await api.get(f"/integrations/integrations/{body['id']}/", headers=_auth(key))
    assert one.json()["name"] == "HubSpot (sandbox)"

    patched = await api.patch(f"/integrations/integrations/{body['id']}/", headers=_auth(key),
                              json={"name": "CRM", "credentials": {"access_token": "rotated-tok"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "CRM"
    assert patched.json()["credential_hint"] == "access_token: rot…-tok"

    listed = await api.get("/integrations/integrations/", headers=_auth(key))
    assert [i["name"] for i in listed.json()] == ["CRM"]
    deleted = await api.delete(f"/integrations/integrations/{body['id']}/", headers=_auth(key))
    assert deleted.status_code == 204
    gone = await api.get(f"/integrations/integrations/{body['id']}/", headers=_auth(key))
    assert gone.status_code == 404


async def test_credentials_are_never_returned_or_stored_in_plaintext(api, tenant, sandbox,
                                                                     database_url) -> None:
    _, key = tenant
    secret = "pat-na1-11111111-2222-secret-value"
    created = await _create(api, key, sandbox.url, credentials={"access_token": secret})
    everything = created.text + (await api.get("/integrations/integrations/",
                                               headers=_auth(key))).text
    assert secret not in everything
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT * FROM integrations").fetchall()
        audit = conn.execute("SELECT * FROM audit_logs").fetchall()
    assert secret not in str(rows) and secret not in str(audit)


async def test_bad_input_names_the_field(api, tenant, sandbox) -> None:
    _, key = tenant
    unknown = await _create(api, key, sandbox.url, provider="myspace")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "provider"
    no_key = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "mailchimp", "name": "MC", "credentials": {}})
    assert no_key.status_code == 422
    assert "credentials.api_key" in no_key.json()["error"]["message"]
    missing_name = await api.post("/integrations/integrations/", headers=_auth(key),
                                  json={"provider": "hubspot"})
    assert missing_name.status_code == 422
    assert "body.name" in missing_name.json()["error"]["message"]
    await _create(api, key, sandbox.url)
    duplicate = await _create(api, key, sandbox.url)
    assert duplicate.status_code == 409


async def test_viewers_cannot_write(api, services: Services, sandbox) -> None:
    _, key = await make_tenant(services, "viewers", Role.viewer)
    refused = await _create(api, key, sandbox.url)
    assert refused.status_code == 403
    assert "admin role" in refused.json()["error"]["message"]


async def test_another_tenants_integration_is_invisible(api, services: Services, tenant,
                                                        sandbox) -> None:
    _, key = tenant
    _, other_key = await make_tenant(services, "globex")
    theirs = (await _create(api, other_key, sandbox.url)).json()
    assert (await api.get(f"/integrations/integrations/{theirs['id']}/",
                          headers=_auth(key))).status_code == 404
    assert (await api.delete(f"/integrations/integrations/{theirs['id']}/",
                             headers=_auth(key))).status_code == 404
    assert (await api.get("/integrations/integrations/", headers=_auth(key))).json() == []


async def test_test_connection_succeeds_and_counts_the_call(api, services: Services, tenant,
                                                            sandbox) -> None:
    caller, key = tenant
    created = (await _create(api, key, sandbox.url)).json()
    result = await api.post(f"/integrations/integrations/{created['id']}/test_connection/",
                            headers=_auth(key))
    assert result.status_code == 200
    assert result.json()["ok"] is True and result.json()["status"] == "active"
    async with services.db.session(caller.tenant_id) as session:
        usage = (await session.scalars(select(ApiUsage))).all()
    assert sum(u.calls for u in usage) == 1


async def test_test_connection_with_a_bad_token_says_reconnect(api, services: Services, tenant,
                                                               sandbox) -> None:
    caller, key = tenant
    created = (await _create(api, key, sandbox.url,
                             credentials={"access_token": "expired-or-wrong"})).json()
    result = (await api.post(f"/integrations/integrations/{created['id']}/test_connection/",
                             headers=_auth(key))).json()
    assert result["ok"] is False
    assert result["status"] == "reconnect_needed"
    assert result["action"].startswith("Reconnect")
    async with services.db.session(caller.tenant_id) as session:
        logs = (await session.scalars(select(HealthLog))).all()
    assert [(log.severity, log.category) for log in logs] == [("critical", "auth")]
    assert "reconnect" in logs[0].message
    assert "expired-or-wrong" not in str(logs[0].details) + logs[0].message


async def test_oauth_connect_flow_end_to_end(api, services: Services, tenant, sandbox) -> None:
    _, key = tenant
    created = (await _create(api, key, sandbox.url, credentials={
        "client_id": "sandbox-client", "client_secret": "sandbox-secret"})).json()
    assert created["credential_hint"].startswith("client_id")
    start = await api.post(f"/integrations/integrations/{created['id']}/oauth/connect/",
                           headers=_auth(key),
                           json={"redirect_uri": "http://connectus.test/integrations/oauth/callback/"})
    assert start.status_code == 200, start.text
    url = httpx.URL(start.json()["authorize_url"])
    assert url.path == "/hubspot/oauth/authorize"
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(str(url))  # the simulator consents at once
    back = httpx.URL(consent.headers["location"])
    callback = await api.get("/integrations/oauth/callback/", params=dict(back.params))
    assert callback.status_code == 200, callback.text
    assert callback.json()["status"] == "active"
    tested = (await api.post(f"/integrations/integrations/{created['id']}/test_connection/",
                             headers=_auth(key))).json()
    assert tested["ok"] is True, tested

    replay = await api.get("/integrations/oauth/callback/",
                           params={**dict(back.params), "state": "forged"})
    assert replay.status_code == 422


async def test_hostile_input_gets_a_422_naming_what_is_wrong(api, tenant, sandbox) -> None:
    _, key = tenant
    created = (await _create(api, key, sandbox.url)).json()
    url = f"/integrations/integrations/{created['id']}/"
    nul_query = await api.get("/integrations/integrations/?status=a%00b", headers=_auth(key))
    assert nul_query.status_code == 422 and "NUL" in nul_query.json()["error"]["message"]
    nul_body = await api.patch(url, headers=_auth(key),
                               content=b'{"name": "a\\u0000b"}',
                               )
    assert nul_body.status_code == 422
    null = await api.patch(url, headers=_auth(key), json={"settings": None})
    assert null.status_code == 422 and "settings may not be null" in null.text
    huge = await api.patch(url, headers=_auth(key), json={"api_calls_limit": 10**30})
    assert huge.status_code == 422 and "api_calls_limit" in huge.text
    not_url = await api.patch(url, headers=_auth(key), json={"settings": {"base_url": "{0}"}})
    assert not_url.status_code == 422 and "settings.base_url" in not_url.text
    surrogate = await api.patch(url, headers=_auth(key), content=b'{"name": "\\ud994x"}')
    assert surrogate.status_code == 422
    still = (await api.get(url, headers=_auth(key))).json()
    assert still["name"] == "HubSpot (sandbox)" and still["settings"]["sandbox_url"]


async def test_testing_an_oauth_integration_before_connecting_says_how(api, tenant,
                                                                       sandbox) -> None:
    _, key = tenant
    created = (await _create(api, key, sandbox.url, credentials={
        "client_id": "sandbox-client", "client_secret": "sandbox-secret"})).json()
    result = await api.post(f"/integrations/integrations/{created['id']}/test_connection/",
                            headers=_auth(key))
    assert result.status_code == 200
    body = result.json()
    assert body["ok"] is False and body["status"] == "pending"
    assert "credentials.access_token" in body["message"]
    assert "/oauth/connect/" in body["action"]
