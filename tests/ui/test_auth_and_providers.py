"""Bearer API keys resolve a tenant; the provider catalogue over REST; one error shape."""

import httpx
import pytest

from store.accounts import revoke_api_key
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _is_error(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


async def test_missing_key_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/integrations/providers/")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    _is_error(response.json(), "unauthenticated")
    assert "missing API key" in response.json()["error"]["message"]


async def test_wrong_key_is_refused(api: httpx.AsyncClient, tenant) -> None:
    response = await api.get("/integrations/providers/", headers=_auth("cx_not-a-real-key"))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "unknown API key"


async def test_revoked_key_is_refused(api: httpx.AsyncClient, services: Services,
                                      tenant) -> None:
    _, key = tenant
    assert (await api.get("/integrations/providers/", headers=_auth(key))).status_code == 200
    async with services.db.transaction(None) as session:
        assert await revoke_api_key(session, key)
    response = await api.get("/integrations/providers/", headers=_auth(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


async def test_lists_the_seven_providers(api: httpx.AsyncClient, tenant) -> None:
    _, key = tenant
    response = await api.get("/integrations/providers/", headers=_auth(key))
    assert response.status_code == 200
    names = [p["name"] for p in response.json()]
    assert names == ["hubspot", "salesforce", "mailchimp", "slack", "google_ads",
                     "facebook_ads", "zapier"]
    crm = await api.get("/integrations/providers/?category=crm", headers=_auth(key))
    assert [p["name"] for p in crm.json()] == ["hubspot", "salesforce"]


@pytest.mark.parametrize("ref", ["mailchimp", "3"])
async def test_one_provider_by_name_or_id(api: httpx.AsyncClient, tenant, ref: str) -> None:
    _, key = tenant
    body = (await api.get(f"/integrations/providers/{ref}/", headers=_auth(key))).json()
    assert body["name"] == "mailchimp"
    assert body["auth_type"] == "api_key"
    assert body["api_endpoints"]["base_url"] == "https://{dc}.api.mailchimp.com/3.0"


async def test_unknown_provider_is_a_404_in_the_error_shape(api: httpx.AsyncClient,
                                                            tenant) -> None:
    _, key = tenant
    response = await api.get("/integrations/providers/myspace/", headers=_auth(key))
    assert response.status_code == 404
    _is_error(response.json(), "not_found")
    assert "myspace" in response.json()["error"]["message"]


async def test_categories(api: httpx.AsyncClient, tenant) -> None:
    _, key = tenant
    body = (await api.get("/integrations/providers/categories/", headers=_auth(key))).json()
    assert {c["name"]: c["providers"] for c in body} == {
        "advertising": ["google_ads", "facebook_ads"], "automation": ["zapier"],
        "communication": ["slack"], "crm": ["hubspot", "salesforce"],
        "email_marketing": ["mailchimp"]}


async def test_unknown_route_uses_the_error_shape(api: httpx.AsyncClient) -> None:
    response = await api.get("/nope")
    assert response.status_code == 404
    _is_error(response.json(), "not_found")


async def test_healthz_reports_the_database(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_openapi_is_served(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert "/integrations/providers/{provider}/capabilities/" in spec["paths"]


async def test_capabilities_come_from_the_connector_description(api: httpx.AsyncClient,
                                                                tenant) -> None:
    _, key = tenant
    body = (await api.get("/integrations/providers/hubspot/capabilities/",
                          headers=_auth(key))).json()
    assert body["auth_type"] == "oauth2"
    streams = {s["name"]: s for s in body["streams"]}
    assert set(streams) == {"contacts", "companies", "deals"}
    assert streams["contacts"]["incremental"] is True
    assert streams["contacts"]["cursor_field"] == "updatedAt"
    writes = {w["name"]: w for w in body["writes"]}
    assert writes["contacts.upsert"]["batch_size"] == 100
    assert "contact.creation" in body["webhook_events"]
