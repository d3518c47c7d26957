"""Bad input over REST gets a clear 4xx in the one error shape, never a 500 (issue 6 §1)."""

import httpx
import pytest

from tests.conftest import make_tenant
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"] and isinstance(body["error"]["details"], list)
    return body["error"]


def _fields(error: dict) -> set[str]:
    return {detail.get("field", "") for detail in error["details"]}


def _create_body(**over) -> dict:
    return {"provider": "hubspot", "name": "CRM", "credentials": {"access_token": "tok"},
            **over}


# §1.4: an id is ASCII digits within the column's range; anything else is a name
@pytest.mark.parametrize("ref", ["999999999999999999999", "99999999999", "%00", "hubspot%00",
                                 "%C2%B2", "0", "%D9%A1"])
@pytest.mark.parametrize("tail", ["", "capabilities/"])
async def test_odd_provider_refs_in_the_path_are_404(api: httpx.AsyncClient, tenant, ref: str,
                                                     tail: str) -> None:
    _, key = tenant
    response = await api.get(f"/integrations/providers/{ref}/{tail}", headers=_auth(key))
    _error(response, 404, "not_found")


@pytest.mark.parametrize("ref", ["²", "\u0661", "99999999999", "-1", " ", "hub spot"])
async def test_odd_provider_refs_in_a_body_are_422_naming_the_field(api: httpx.AsyncClient,
                                                                    tenant, ref: str) -> None:
    _, key = tenant
    response = await api.post("/integrations/integrations/", json=_create_body(provider=ref),
                              headers=_auth(key))
    assert "provider" in _fields(_error(response, 422, "invalid"))


async def test_a_provider_id_in_ascii_digits_still_works(api: httpx.AsyncClient, tenant) -> None:
    _, key = tenant
    response = await api.post("/integrations/integrations/", json=_create_body(provider="1"),
                              headers=_auth(key))
    assert response.status_code == 201 and response.json()["provider"] == "hubspot"


# §1.8: names trimmed, printable, non-blank; strict ints and bools
@pytest.mark.parametrize("name", ["", "   ", "\t\n", "\x01\x02", "CRM\x07", "a\u200bb\u202e"])
async def test_blank_or_control_names_are_refused(api: httpx.AsyncClient, tenant,
                                                  name: str) -> None:
    _, key = tenant
    response = await api.post("/integrations/integrations/", json=_create_body(name=name),
                              headers=_auth(key))
    assert "body.name" in _fields(_error(response, 422, "invalid"))


async def test_names_are_trimmed(api: httpx.AsyncClient, tenant) -> None:
    _, key = tenant
    created = await api.post("/integrations/integrations/", json=_create_body(name="  CRM  "),
                             headers=_auth(key))
    assert created.status_code == 201 and created.json()["name"] == "CRM"
    patched = await api.patch(f"/integrations/integrations/{created.json()['id']}/",
                              json={"name": " \x00"}, headers=_auth(key))
    assert patched.status_code == 422
    patched = await api.patch(f"/integrations/integrations/{created.json()['id']}/",
                              json={"name": "   "}, headers=_auth(key))
    assert "body.name" in _fields(_error(patched, 422, "invalid"))


@pytest.mark.parametrize("value", [True, False, "5", 1.0, 2.5])
async def test_api_calls_limit_is_a_strict_integer(api: httpx.AsyncClient, tenant,
                                                   value: object) -> None:
    _, key = tenant
    response = await api.post("/integrations/integrations/",
                              json=_create_body(api_calls_limit=value), headers=_auth(key))
    assert "body.api_calls_limit" in _fields(_error(response, 422, "invalid"))
    created = await api.post("/integrations/integrations/", json=_create_body(),
                             headers=_auth(key))
    patched = await api.patch(f"/integrations/integrations/{created.json()['id']}/",
                              json={"api_calls_limit": value}, headers=_auth(key))
    assert "body.api_calls_limit" in _fields(_error(patched, 422, "invalid"))


# §1.9: a non-Bearer Authorization header is told what is expected
@pytest.mark.parametrize("header", ["Basic abc", "Token cx_abc", "bearer", "cx_abc"])
async def test_a_non_bearer_authorization_says_bearer_is_expected(api: httpx.AsyncClient,
                                                                  header: str) -> None:
    response = await api.get("/integrations/providers/", headers={"Authorization": header})
    error = _error(response, 401, "unauthenticated")
    assert "Bearer" in error["message"] and "missing API key" not in error["message"]
    assert response.headers["www-authenticate"] == "Bearer"


# §1.6: request bodies are bounded, as are the JSON fields that are stored and served
async def test_a_body_over_the_limit_is_413(api: httpx.AsyncClient, tenant) -> None:
    _, key = tenant
    big = _create_body(settings={"blob": "x" * (1024 * 1024 + 1)})
    response = await api.post("/integrations/integrations/", json=big, headers=_auth(key))
    error = _error(response, 413, "too_large")
    assert "1048576" in error["message"]


async def test_a_streamed_body_without_content_length_is_counted(api: httpx.AsyncClient,
                                                                 tenant) -> None:
    _, key = tenant

    async def chunks():
        yield b'{"provider": "hubspot", "name": "x", "settings": {"blob": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    response = await api.post("/integrations/integrations/", content=chunks(),
                              headers={**_auth(key), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _error(response, 413, "too_large")


async def test_the_body_limit_is_a_setting(services: Services, tenant) -> None:
    from dataclasses import replace

    from ui.api.app import create_app

    _, key = tenant
    small = Services(settings=replace(services.settings, max_body_bytes=100), db=services.db,
                     vault=services.vault, queue=services.queue)
    transport = httpx.ASGITransport(app=create_app(small))
    async with httpx.AsyncClient(transport=transport, base_url="http://connectus.test") as api:
        response = await api.post("/integrations/integrations/",
                                  json=_create_body(settings={"a": "x" * 100}),
                                  headers=_auth(key))
    _error(response, 413, "too_large")


@pytest.mark.parametrize("field", ["settings", "credentials", "sync_config"])
async def test_stored_json_fields_are_bounded(api: httpx.AsyncClient, tenant,
                                              field: str) -> None:
    _, key = tenant
    value = {"access_token": "tok", "blob": "x" * (64 * 1024)}
    response = await api.post("/integrations/integrations/", json=_create_body(**{field: value}),
                              headers=_auth(key))
    assert f"body.{field}" in _fields(_error(response, 422, "invalid"))
    created = await api.post("/integrations/integrations/", json=_create_body(),
                             headers=_auth(key))
    patched = await api.patch(f"/integrations/integrations/{created.json()['id']}/",
                              json={field: value}, headers=_auth(key))
    assert f"body.{field}" in _fields(_error(patched, 422, "invalid"))


async def test_webhooks_keep_their_own_larger_limit(api: httpx.AsyncClient, services: Services,
                                                    tenant) -> None:
    """A 2 MiB Zapier delivery is over the API's limit but within the webhook one."""
    _, key = tenant
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "zapier", "name": "Zaps",
        "credentials": {"hook_url": "https://hooks.zapier.com/hooks/catch/1/abc/",
                        "webhook_secret": "s3cret"}})
    assert created.status_code == 201, created.text
    url = f"/integrations/webhooks/{created.json()['id']}/"
    body = b'{"id": "1", "blob": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    signed = {"Content-Type": "application/json", "X-Connectus-Webhook-Secret": "s3cret"}
    response = await api.post(url, content=body, headers=signed)
    assert response.status_code == 200, response.text
    huge = b"x" * (10 * 1024 * 1024 + 1)
    _error(await api.post(url, content=huge), 413, "too_large")


async def test_other_tenants_are_not_found(api: httpx.AsyncClient, services: Services,
                                           tenant) -> None:
    _, key = tenant
    _, other_key = await make_tenant(services, "globex")
    created = await api.post("/integrations/integrations/", json=_create_body(),
                             headers=_auth(key))
    response = await api.get(f"/integrations/integrations/{created.json()['id']}/",
                             headers=_auth(other_key))
    _error(response, 404, "not_found")


def test_the_body_limit_setting_is_validated() -> None:
    from store.errors import SettingsError
    from store.settings import Settings

    assert Settings.from_env({}).max_body_bytes == 1024 * 1024
    assert Settings.from_env({"CONNECTUS_MAX_BODY_BYTES": "2048"}).max_body_bytes == 2048
    for bad in ("lots", "0", "-5", "1.5"):
        with pytest.raises(SettingsError, match="CONNECTUS_MAX_BODY_BYTES"):
            Settings.from_env({"CONNECTUS_MAX_BODY_BYTES": bad})


@pytest.mark.parametrize("name", ["CONNECTUS_ASK_RATE_LIMIT", "CONNECTUS_MCP_RATE_LIMIT"])
def test_the_rate_limit_settings_are_validated(name: str) -> None:
    from store.errors import SettingsError
    from store.settings import Settings

    field = name.removeprefix("CONNECTUS_").lower()
    assert getattr(Settings.from_env({name: "500 per hour"}), field) == "500 per hour"
    for bad in ("lots", "0/minute", "5/fortnight"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})
