"""connectors/http.py redacts what a failure carries: a provider that echoes the credential
in its error body, or a transport error quoting a URL with the token in it, never puts
the secret into the raised error, the observer's record or a diagnosis."""

import httpx
import pytest

from connectors.errors import BadRequest, ProviderDown
from connectors.http import Attempts
from tests.connectors.conftest import Recorder

TOKEN = "canary-token-5f1e2d3c"
KEY = "canary-key-9a8b7c6d-us1"


def _echoing(request: httpx.Request) -> httpx.Response:
    """A provider whose error quotes our own request back, headers and all."""
    said = f"bad request {request.url} with {request.headers.get('authorization')}"
    return httpx.Response(400, json={"message": said, "category": "VALIDATION_ERROR"})


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"connection refused for {request.url}")


def _clean(text: object, *secrets: str) -> None:
    assert all(secret not in str(text) for secret in secrets), text


async def test_an_error_body_echoing_the_token_is_redacted(sandbox, connect) -> None:
    recorder = Recorder()
    connector = connect("hubspot", {"access_token": TOKEN}, observer=recorder,
                        http=httpx.AsyncClient(transport=httpx.MockTransport(_echoing)))
    with pytest.raises(BadRequest) as info:
        await connector.read_all("contacts")
    assert "bad request" in info.value.message  # the provider's words are kept ...
    _clean(info.value.message, TOKEN)  # ... without the secret
    _clean(info.value.as_details(), TOKEN)
    assert recorder.errors
    for error in recorder.errors:
        _clean(error.message, TOKEN)
        _clean(error.as_details(), TOKEN)
    diagnosis = await connector.test_connection()
    _clean(diagnosis.message, TOKEN)
    _clean(diagnosis.details, TOKEN)


async def test_a_transport_error_quoting_a_token_url_is_redacted(sandbox, connect) -> None:
    # Graph sends the token as a query parameter, so the URL in the error carries it
    recorder = Recorder()
    connector = connect("facebook_ads", {"access_token": TOKEN, "app_secret": KEY},
                        {"ad_account_id": "100000000000001"}, observer=recorder,
                        attempts=Attempts(max_attempts=2, base_wait_s=0.01),
                        http=httpx.AsyncClient(transport=httpx.MockTransport(_unreachable)))
    with pytest.raises(ProviderDown) as info:
        await connector.read_all("campaigns")
    assert "could not reach" in info.value.message
    _clean(info.value.message, TOKEN, KEY)
    for error in recorder.errors:
        _clean(error.message, TOKEN, KEY)


async def test_a_key_in_basic_auth_echoed_back_is_redacted(sandbox, connect) -> None:
    connector = connect("mailchimp", {"api_key": KEY},
                        http=httpx.AsyncClient(transport=httpx.MockTransport(
                            lambda request: httpx.Response(400, json={
                                "title": "Invalid Resource",
                                "detail": f"the key {KEY} may not do this"}))))
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok and "Invalid Resource" in diagnosis.message
    _clean(diagnosis.message, KEY)
    _clean(diagnosis.details, KEY)
