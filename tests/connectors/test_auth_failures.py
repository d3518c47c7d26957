"""Auth failures say what the provider said, which provider, and what a person should do:
the provider's code survives into ReconnectNeeded, a refused renewal is quoted in the
provider's own words, and a token that was refused is not called expired."""

from typing import Any

import httpx
import pytest

from connectors import oauth
from connectors.errors import ProviderDown, ReconnectNeeded
from connectors.registry import connector_spec
from connectors.sandbox.kit import Faults
from tests.connectors.conftest import oauth_tokens

token_http = oauth.authlib_http  # the httpx authlib's token client runs on (httpx2 or httpx)


def _ours(error: ReconnectNeeded) -> str:
    """The message without the provider's own words, which may say anything."""
    return error.message.replace(error.provider_message or "", "")


async def test_a_wrong_hubspot_token_keeps_hubspots_code_and_is_not_called_expired(
        sandbox, connect) -> None:
    connector = connect("hubspot", {"access_token": "wrong-token"})
    with pytest.raises(ReconnectNeeded) as info:
        await connector.read_all("contacts")
    error = info.value
    assert error.provider == "hubspot" and error.http_status == 401
    assert error.provider_code == "INVALID_AUTHENTICATION"
    assert "INVALID_AUTHENTICATION" in error.message
    assert "Authentication credentials not found" in error.message  # HubSpot's own words
    assert "expired" not in error.message and "reconnect" in error.message
    diagnosis = await connector.test_connection()
    assert diagnosis.details["provider_code"] == "INVALID_AUTHENTICATION"
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")


@pytest.mark.parametrize("provider", ["hubspot", "salesforce", "google_ads", "zapier"])
async def test_a_wrong_token_is_never_called_expired_by_us(sandbox, connect,
                                                           provider: str) -> None:
    spec = connector_spec(provider)
    assert spec is not None
    demo = spec.sandbox_demo
    credentials = {k: str(v).format(sandbox_url=sandbox.url)
                   for k, v in demo["credentials"].items() if k != "refresh_token"}
    diagnosis = await connect(provider, {**credentials, "access_token": "wrong"},
                              demo["settings"]).test_connection()
    assert not diagnosis.ok and diagnosis.details["http_status"] == 401
    said = diagnosis.details["provider_message"]
    assert said and said in diagnosis.message  # what the provider said
    assert provider in diagnosis.message  # which provider
    assert "expired" not in diagnosis.message.replace(said, "")
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")  # what to do


async def test_a_refused_renewal_quotes_the_providers_refusal(sandbox, connect) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(token_expiry_calls=1))
    credentials = {**await oauth_tokens(sandbox, "hubspot"), "refresh_token": "revoked"}
    connector = connect("hubspot", credentials)
    with pytest.raises(ReconnectNeeded) as info:
        await connector.read_all("contacts")
    error = info.value
    assert error.provider == "hubspot" and error.provider_code == "EXPIRED_AUTHENTICATION"
    # the simulator's refusal at the token endpoint, word for word
    assert "missing or invalid refresh token" in error.message
    assert "invalid_grant" in error.message
    assert error.details[0]["renewal_code"] == "invalid_grant"
    assert error.action and error.action.startswith("Reconnect") and "hubspot" in error.action


def _refresh_against(monkeypatch, status: int, body: dict[str, Any]) -> None:
    """Point oauth's token client at an in-process token endpoint answering ``body``."""
    real = oauth._client

    def answer(request: Any) -> Any:
        return token_http.Response(status, json=body)

    monkeypatch.setattr(oauth, "_client", lambda *a, **kw: real(
        *a, transport=token_http.MockTransport(answer), **kw))


@pytest.mark.parametrize(("provider", "status", "body", "code", "words"), [
    # HubSpot's documented refusal carries no OAuth "error" field at all
    ("hubspot", 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh "
                      "token", "correlationId": "c0ffee"}, "BAD_REFRESH_TOKEN",
     "missing or invalid refresh token"),
    # Slack says no with HTTP 200
    ("slack", 200, {"ok": False, "error": "invalid_refresh_token"}, "invalid_refresh_token",
     "invalid_refresh_token"),
    ("salesforce", 400, {"error": "invalid_grant", "error_description": "expired access/"
                         "refresh token"}, "invalid_grant", "expired access/refresh token"),
])
async def test_a_refused_renewal_names_the_provider_its_code_and_its_words(
        monkeypatch, provider: str, status: int, body: dict[str, Any], code: str,
        words: str) -> None:
    _refresh_against(monkeypatch, status, body)
    spec = connector_spec(provider)
    assert spec is not None and spec.auth.oauth is not None
    with pytest.raises(ReconnectNeeded) as info:
        await oauth.refresh(spec.auth.oauth, "https://token.example/token",
                            {"refresh_token": "r", "client_id": "c", "client_secret": "s"},
                            provider)
    error = info.value
    assert error.provider == provider and error.provider_code == code
    assert words in error.message and provider in error.message
    assert "no access token" not in error.message
    assert error.action and error.action.startswith("Reconnect")


async def test_a_failing_token_endpoint_is_transient_not_a_crash(monkeypatch) -> None:
    _refresh_against(monkeypatch, 503, {"message": "down for maintenance"})
    spec = connector_spec("hubspot")
    assert spec is not None and spec.auth.oauth is not None
    with pytest.raises(ProviderDown) as info:
        await oauth.refresh(spec.auth.oauth, "https://token.example/token",
                            {"refresh_token": "r", "client_id": "c"}, "hubspot")
    assert "down for maintenance" in info.value.message and info.value.provider == "hubspot"


async def test_a_busy_token_endpoint_is_retried_and_the_renewal_tried_again(
        sandbox, connect, monkeypatch) -> None:
    answers = iter([token_http.Response(503, json={"message": "busy"}),
                    token_http.Response(200, json={"access_token": "fresh",
                                                   "expires_in": 1800})])
    real = oauth._client
    monkeypatch.setattr(oauth, "_client", lambda *a, **kw: real(
        *a, transport=token_http.MockTransport(lambda request: next(answers)), **kw))

    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] != "Bearer fresh":
            return httpx.Response(401, json={"message": "expired",
                                             "category": "EXPIRED_AUTHENTICATION"})
        return httpx.Response(200, json={"results": [{"id": "1"}]})

    saved: list[dict[str, Any]] = []

    async def save(fresh: dict[str, Any]) -> None:
        saved.append(fresh)

    connector = connect("hubspot", {"access_token": "stale", "refresh_token": "r",
                                    "client_id": "c", "client_secret": "s"},
                        save_credentials=save,
                        http=httpx.AsyncClient(transport=httpx.MockTransport(api)))
    assert [r["id"] for r in await connector.read_all("contacts")] == ["1"]
    assert saved and saved[-1]["access_token"] == "fresh"
