"""test_connection as a person sees it: what went wrong in the provider's words and the one
thing to do about it, chosen by the kind of failure."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.http import Attempts
from connectors.quota import Priority

ZAPIER = {"access_token": "sandbox"}


def _answering(response: httpx.Response) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))


async def _diagnose(connect, response: httpx.Response, credentials=ZAPIER):
    connector = connect("zapier", credentials, http=_answering(response),
                        attempts=Attempts(max_attempts=2, base_wait_s=0.001, max_wait_s=1),
                        priority=Priority.chat)
    return await connector.test_connection()


async def test_a_working_connection_says_who_it_is_connected_as(connect) -> None:
    diagnosis = await _diagnose(connect, httpx.Response(200, json={"full_name": "Ada Lovelace"}))
    assert diagnosis.ok and diagnosis.message == "Connected to Zapier as Ada Lovelace"
    assert diagnosis.action is None and diagnosis.latency_ms is not None
    assert diagnosis.details["quota"]["used_today"] == 0


@pytest.mark.parametrize(("response", "category", "action"), [
    (httpx.Response(401, json={"errors": [{"detail": "token revoked"}]}), "auth",
     "Reconnect the integration"),
    (httpx.Response(403, text="forbidden"), "missing_scope", "Grant the missing permission"),
    (httpx.Response(429, headers={"retry-after": "0"}), "rate_limited", "Wait a moment"),
    (httpx.Response(503, text="down"), "provider_down", "The provider is failing on its side"),
    (httpx.Response(400, json={"message": "bad filter"}), "bad_request",
     "Check the integration's settings"),
    (httpx.Response(404, text="gone"), "not_found", "Check the integration's settings"),
])
async def test_a_failure_names_its_kind_and_what_to_do(connect, response, category,
                                                       action) -> None:
    diagnosis = await _diagnose(connect, response)
    assert diagnosis.ok is False
    assert diagnosis.details["category"] == category
    assert diagnosis.details["http_status"] == response.status_code
    assert diagnosis.action is not None and diagnosis.action.startswith(action)
    assert diagnosis.latency_ms is not None and diagnosis.latency_ms >= 0


async def test_a_quota_stop_says_when_to_come_back(connect) -> None:
    diagnosis = await _diagnose(connect, httpx.Response(429, headers={"retry-after": "7200"}))
    assert not diagnosis.ok and diagnosis.details["category"] == "quota_exhausted"
    back = datetime.now(UTC) + timedelta(seconds=7200)
    assert diagnosis.action is not None
    assert diagnosis.action.startswith(f"Wait until {back:%Y-%m-%d %H}:")


async def test_the_providers_own_advice_beats_the_generic_one(connect) -> None:
    connector = connect("mailchimp", {"api_key": "0123456789abcdef-us6"},
                        http=_answering(httpx.Response(
                            401, json={"title": "User Disabled", "detail": "disabled",
                                       "type": "https://mailchimp.com/developer/x/UserDisabled"})))
    diagnosis = await connector.test_connection()
    assert diagnosis.ok is False
    assert diagnosis.action is not None and diagnosis.action.startswith("Reconnect with the key")


@pytest.mark.parametrize("status", [200, 400])
async def test_latency_is_reported_in_milliseconds(connect, status) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(status, json={"full_name": "Ada"})

    connector = connect("zapier", ZAPIER, http=httpx.AsyncClient(
        transport=httpx.MockTransport(slow)), priority=Priority.chat)
    diagnosis = await connector.test_connection()
    assert diagnosis.ok is (status == 200)
    assert diagnosis.latency_ms is not None and 50 <= diagnosis.latency_ms < 60_000
