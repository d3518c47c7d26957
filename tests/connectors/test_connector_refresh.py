"""Refreshing ahead of expiry only when it is due and possible, and one budget per provider
account whichever integration or process uses it."""

import time

import pytest

from connectors.connector import account_key
from connectors.quota import Priority
from connectors.registry import connector_spec
from tests.connectors.conftest import oauth_tokens


class Saved:
    def __init__(self) -> None:
        self.credentials: list[dict] = []

    async def __call__(self, credentials: dict) -> None:
        self.credentials.append(credentials)


@pytest.mark.parametrize(("expires_in", "refreshed"), [
    (100, True),  # inside the two minutes ahead: refresh first
    (-5, True),  # already expired
    (3600, False),  # an hour left: use it
])
async def test_a_token_is_refreshed_ahead_only_when_it_is_about_to_expire(
        sandbox, connect, expires_in, refreshed) -> None:
    credentials = {**await oauth_tokens(sandbox, "hubspot"),
                   "expires_at": time.time() + expires_in}
    saved = Saved()
    connector = connect("hubspot", credentials, save_credentials=saved)
    diagnosis = await connector.test_connection()
    assert diagnosis.ok
    assert len(saved.credentials) == (1 if refreshed else 0)
    if refreshed:
        assert saved.credentials[0]["access_token"] != credentials["access_token"]
        assert float(saved.credentials[0]["expires_at"]) > time.time() + 600


async def test_no_refresh_is_tried_without_an_expiry_or_a_refresh_token(sandbox,
                                                                        connect) -> None:
    tokens = await oauth_tokens(sandbox, "hubspot")
    saved = Saved()
    no_expiry = {k: v for k, v in tokens.items() if k != "expires_at"}
    assert (await connect("hubspot", no_expiry, save_credentials=saved).test_connection()).ok
    no_refresh = {k: v for k, v in tokens.items() if k != "refresh_token"}
    no_refresh["expires_at"] = time.time() + 60
    assert (await connect("hubspot", no_refresh, save_credentials=saved).test_connection()).ok
    assert saved.credentials == []


def test_one_account_one_key_whichever_integration_holds_it() -> None:
    spec = connector_spec("salesforce")
    assert spec is not None
    org = {"instance_url": "https://acme.my.salesforce.com"}
    first = account_key(spec, {**org, "access_token": "a"}, {})
    assert first == account_key(spec, {**org, "access_token": "b"}, {"x": 1})
    assert first != account_key(spec, {"instance_url": "https://globex.my.salesforce.com"}, {})
    hubspot = connector_spec("hubspot")
    assert hubspot is not None
    assert account_key(hubspot, {"access_token": "a"}, {}) != \
        account_key(spec, {"access_token": "a"}, {})  # providers never share a key


def test_an_account_field_may_come_from_the_settings() -> None:
    spec = connector_spec("facebook_ads")
    assert spec is not None
    by_setting = account_key(spec, {"access_token": "t"}, {"ad_account_id": "1"})
    assert by_setting != account_key(spec, {"access_token": "t"}, {"ad_account_id": "2"})


async def test_two_integrations_of_one_account_draw_from_one_daily_budget(connect,
                                                                          sandbox) -> None:
    first = connect("hubspot", {"access_token": "sandbox"}, priority=Priority.chat)
    second = connect("hubspot", {"access_token": "sandbox"}, {"name": "second"})
    other = connect("hubspot", {"access_token": "another-portal"})
    await first.test_connection()
    await second.test_connection()
    assert (await first.client.budget.remaining())["used_today"] == 2
    assert (await other.client.budget.remaining())["used_today"] == 0


async def test_an_outage_on_one_account_does_not_stop_another(connect) -> None:
    import httpx

    from connectors.errors import ProviderDown
    from connectors.http import Attempts

    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer failing-portal":
            return httpx.Response(503, text="down")
        return httpx.Response(200, json={"results": []})

    def make(token: str):
        return connect("hubspot", {"access_token": token},
                       http=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
                       attempts=Attempts(max_attempts=1, base_wait_s=0.001, max_wait_s=1))

    failing = make("failing-portal")
    for _ in range(6):  # past the breaker's threshold of failures in a row
        with pytest.raises(ProviderDown):
            await failing.read_all("contacts")
    before = len(calls)
    with pytest.raises(ProviderDown, match="in a row"):
        await failing.read_all("contacts")
    assert len(calls) == before  # this account's circuit is open: not called
    assert await make("healthy-portal").read_all("contacts") == []
