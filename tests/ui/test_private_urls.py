"""SSRF over REST: an admin cannot point an integration at a private address, neither when
saving its settings nor by a credential URL that only the connector uses; the sandbox
this process started, and CONNECTUS_ALLOW_PRIVATE_URLS, are the two exceptions."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest
from sqlalchemy import update

from connectors.connector import Connector
from connectors.registry import connector_spec
from store.models import Integration
from tools.context import Services


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def listener() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback server that records what reaches it (it must stay empty)."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(65536))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", received
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(("field", "url", "why"), [
    ("sandbox_url", "http://127.0.0.1:1", "127.0.0.1 is a loopback address"),
    ("base_url", "http://localhost:9/api", "loopback"),
    ("base_url", "http://169.254.169.254/latest", "cloud metadata"),
    ("sandbox_url", "http://10.0.0.7:8080", "private"),
])
async def test_saving_a_private_url_is_refused(api, tenant, field: str, url: str,
                                               why: str) -> None:
    _, key = tenant
    body = {"provider": "hubspot", "name": "h", "credentials": {"access_token": "t0ken1"},
            "settings": {field: url}}
    created = await api.post("/integrations/integrations/", headers=_auth(key), json=body)
    assert created.status_code == 422, created.text
    message = created.json()["error"]["message"]
    assert f"settings.{field}" in message and why in message
    assert "CONNECTUS_ALLOW_PRIVATE_URLS=true" in message

    ok = await api.post("/integrations/integrations/", headers=_auth(key), json={
        **body, "settings": {}})
    assert ok.status_code == 201
    patched = await api.patch(f"/integrations/integrations/{ok.json()['id']}/",
                              headers=_auth(key), json={"settings": {field: url}})
    assert patched.status_code == 422, patched.text
    assert why in patched.json()["error"]["message"]


async def test_the_sandbox_this_process_started_and_the_operator_s_switch_are_allowed(
        api, services: Services, tenant, sandbox) -> None:
    _, key = tenant
    body = {"provider": "hubspot", "name": "sandboxed",
            "credentials": {"access_token": "sandbox"}, "settings": {"sandbox_url": sandbox.url}}
    assert (await api.post("/integrations/integrations/", headers=_auth(key),
                           json=body)).status_code == 201
    services.settings = dataclasses.replace(services.settings, allow_private_urls=True)
    staging = await api.post("/integrations/integrations/", headers=_auth(key), json={
        **body, "name": "staging mock", "settings": {"base_url": "http://10.0.0.7:8080"}})
    assert staging.status_code == 201, staging.text


async def test_a_private_url_stored_earlier_is_refused_when_connecting(
        api, services: Services, tenant, listener) -> None:
    caller, key = tenant
    url, received = listener
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "hubspot", "name": "h", "credentials": {"access_token": "bearer-canary"}})
    integration_id = created.json()["id"]
    # stored while CONNECTUS_ALLOW_PRIVATE_URLS was on, or before the check existed
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(update(Integration).values(settings={"base_url": url}))
    tested = await api.post(f"/integrations/integrations/{integration_id}/test_connection/",
                            headers=_auth(key))
    assert tested.status_code == 200, tested.text
    body = tested.json()
    assert body["ok"] is False
    assert "settings.base_url" in body["message"] and "loopback" in body["message"]
    assert received == []


async def test_a_credential_url_to_a_private_address_is_refused_when_connecting(
        api, tenant, listener) -> None:
    """Salesforce's instance_url is a credential (the token response names it): the
    connector's base URL is checked, not only the settings."""
    _, key = tenant
    url, received = listener
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "salesforce", "name": "sf",
        "credentials": {"access_token": "bearer-canary", "instance_url": url}})
    assert created.status_code == 201, created.text
    tested = await api.post(
        f"/integrations/integrations/{created.json()['id']}/test_connection/",
        headers=_auth(key))
    body = tested.json()
    assert body["ok"] is False and "loopback" in body["message"], body
    assert received == []


async def test_redirects_are_not_followed(services: Services) -> None:
    """A provider (or a URL pretending to be one) could redirect to a private address:
    httpx follows none by default, and the connector keeps it that way."""
    connector = Connector(connector_spec("hubspot"), {"access_token": "t"},
                          redis=services.queue)
    try:
        assert connector.client.http.follow_redirects is False
    finally:
        await connector.aclose()


async def test_the_oauth_code_exchange_is_refused_for_a_private_token_url(
        api, services: Services, tenant, listener) -> None:
    """The exchange sends the client secret: a sandbox_url stored earlier that now points
    at a private address gets nothing, as a connector call would not."""
    caller, key = tenant
    url, received = listener
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": "hubspot", "name": "h",
        "credentials": {"client_id": "id", "client_secret": "secret-canary"}})
    integration_id = created.json()["id"]
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(update(Integration).values(settings={"sandbox_url": url}))
    started = await api.post(f"/integrations/integrations/{integration_id}/oauth/connect/",
                             headers=_auth(key),
                             json={"redirect_uri": "http://connectus.test/cb"})
    assert started.status_code == 200, started.text
    state = started.json()["authorize_url"].split("state=")[1].split("&")[0]
    finished = await api.get("/integrations/oauth/callback/",
                             params={"code": "c", "state": unquote(state)})
    assert finished.status_code == 422, finished.text
    assert "settings.sandbox_url" in finished.text and "loopback" in finished.text
    assert received == []
