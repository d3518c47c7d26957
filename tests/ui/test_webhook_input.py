"""Hostile webhook input: nothing before verification may crash, a verified but malformed
body is a 400 that says why, a signed timestamp must be a finite integer, and forged
deliveries neither flood the health log nor run unbounded."""

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from connectors.providers.hubspot import signature_v3
from connectors.providers.slack import signature as slack_signature
from connectors.webhooks import WebhookRejected, hex_hmac, require_fresh
from store.models import HealthLog, WebhookEvent
from tests.ui.test_webhooks import _integration
from tools import webhooks as webhooks_tool
from tools.context import Services

HOST = "http://connectus.test"


def _signed(provider: str, url: str, body: bytes,
            timestamp: str | None = None) -> dict[str, str]:
    """The headers each provider's documented signing puts on ``body`` (demo secrets)."""
    if provider == "hubspot":
        stamp = timestamp if timestamp is not None else str(int(time.time() * 1000))
        return {"x-hubspot-request-timestamp": stamp,
                "x-hubspot-signature-v3": signature_v3("sandbox-secret", "POST", url, body,
                                                       stamp)}
    if provider == "slack":
        stamp = timestamp if timestamp is not None else str(int(time.time()))
        return {"x-slack-request-timestamp": stamp,
                "x-slack-signature": slack_signature("sandbox-webhook-secret", stamp, body)}
    if provider == "facebook_ads":
        return {"x-hub-signature-256": "sha256=" + hex_hmac("sandbox-secret", body)}
    if provider == "zapier":
        return {"x-connectus-webhook-secret": "sandbox-webhook-secret"}
    return {}


UNSIGNED_SLACK = [b'"url_verification"', b'["url_verification"]', b"url_verification",
                  b'{"type": "url_verification"', b'{"type":"url_verification","x":\xff}']


@pytest.mark.parametrize("body", UNSIGNED_SLACK)
async def test_unsigned_slack_handshake_bodies_are_refused_not_crashed(
        api, tenant, sandbox, body: bytes) -> None:
    _, key = tenant
    url = await _integration(api, key, "slack", sandbox.url)
    answer = await api.post(url, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "webhook_rejected"


def _google(lead: Any) -> bytes:
    return json.dumps(lead).encode()


MALFORMED: list[tuple[str, bytes, str]] = [
    ("hubspot", b'{"a":1}', "array"),
    ("hubspot", b"[1,2]", "object"),
    ("hubspot", b"not json", "JSON"),
    ("hubspot", b"", "empty"),
    ("hubspot", b'[{"subscriptionType": "contact.creation"}]', "eventId"),
    ("slack", b"not json", "JSON"),
    ("slack", b'{"type": "event_callback", "event": {"type": "message"}}', "event_id"),
    ("slack", b'["event_callback"]', "object"),
    ("slack", b'{"type": "url_verification", "challenge": ["x"]}', "challenge"),
    ("slack", b'{"type": "event_callback", "event_id": "Ev1", "event": [1]}', "event"),
    ("zapier", b"[1]", "object"),
    ("zapier", b"{", "JSON"),
    ("zapier", b"\xff\xfe", "JSON"),
    ("google_ads", _google({"google_key": "sandbox-webhook-secret", "form_id": 1}), "lead_id"),
    ("google_ads", _google({"google_key": "sandbox-webhook-secret", "lead_id": {"a": 1}}),
     "lead_id"),
    ("facebook_ads", b'{"object": "ad_account", "entry": [1]}', "entry"),
    ("facebook_ads", b'{"object": "ad_account", "entry": [{"changes": [1]}]}', "changes"),
    ("facebook_ads", b'{"object": "ad_account", "entry": {"a": 1}}', "entry"),
    ("facebook_ads", b"[]", "object"),
    ("facebook_ads", b"nope", "JSON"),
    ("mailchimp", b"type=subscribe&data[email]=\xff", "UTF-8"),
    ("mailchimp", b"data[email]=a@example.com", "type"),
    ("mailchimp", b"", "empty"),
    ("salesforce", b"<not xml", "XML"),
    ("salesforce", b'<?xml version="1.0" encoding="no-such-codec"?><a/>', "XML"),
    ("salesforce", b"", "XML"),
]


@pytest.mark.parametrize(("provider", "body", "reason"), MALFORMED)
async def test_a_verified_but_malformed_body_is_a_400_with_the_reason(
        api, services: Services, tenant, sandbox, provider: str, body: bytes,
        reason: str) -> None:
    caller, key = tenant
    url = await _integration(api, key, provider, sandbox.url)
    answer = await api.post(url, content=body, headers=_signed(provider, url, body))
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "webhook_malformed"
    assert reason.lower() in error["message"].lower()
    async with services.db.session(caller.tenant_id) as session:
        assert (await session.scalars(select(WebhookEvent))).all() == []


async def test_salesforce_message_without_notification_id_is_a_400(api, tenant,
                                                                  sandbox) -> None:
    _, key = tenant
    url = await _integration(api, key, "salesforce", sandbox.url)
    body = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
            b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notifications '
            b'xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>'
            b"00D000000000001EAA</OrganizationId><Notification><sObject/></Notification>"
            b"</notifications></soapenv:Body></soapenv:Envelope>")
    answer = await api.post(url, content=body, headers={"content-type": "text/xml"})
    assert answer.status_code == 400, answer.text
    assert "Id" in answer.json()["error"]["message"]


BAD_STAMPS = ["nan", "NaN", "inf", "-inf", "1e400", "1.5", "", " ", "0x10", "9" * 5000, "now.5"]


def _stamp(stamp: str, unit: float) -> str:
    """``now.5``: a fresh time with a fraction, which a float parse would let through."""
    return f"{int(time.time() * unit)}.5" if stamp == "now.5" else stamp


@pytest.mark.parametrize("provider", ["hubspot", "slack"])
@pytest.mark.parametrize("stamp", BAD_STAMPS)
async def test_a_signed_timestamp_that_is_not_a_finite_integer_is_refused(
        api, tenant, sandbox, provider: str, stamp: str) -> None:
    _, key = tenant
    url = await _integration(api, key, provider, sandbox.url)
    body = (b'[{"eventId": 1, "subscriptionType": "contact.creation"}]' if provider == "hubspot"
            else b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "m"}}')
    stamp = _stamp(stamp, 1000 if provider == "hubspot" else 1)
    answer = await api.post(url, content=body, headers=_signed(provider, url, body, stamp))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "webhook_rejected"
    assert "timestamp" in answer.json()["error"]["message"]


@pytest.mark.parametrize("stamp", [*BAD_STAMPS, "\u0661\u0667\u0660\u0660\u0660\u0660\u0660"
                                   "\u0660\u0660\u0660", None])
def test_require_fresh_accepts_only_ascii_integers(stamp: str | None) -> None:
    with pytest.raises(WebhookRejected):
        require_fresh(_stamp(stamp, 1) if stamp else stamp)
    require_fresh(str(int(time.time())))


async def test_forged_deliveries_collapse_into_one_health_log_row_and_then_get_a_429(
        api, services: Services, tenant, sandbox, monkeypatch) -> None:
    monkeypatch.setattr(webhooks_tool, "MAX_REJECTIONS", 30)
    # the window is fixed on the clock; 200 deliveries on a slow machine may span its edge,
    # and a new window rightly counts afresh, so the limiter's clock stands still here
    frozen = time.time()
    monkeypatch.setattr(webhooks_tool, "time", SimpleNamespace(time=lambda: frozen))
    caller, key = tenant
    url = await _integration(api, key, "slack", sandbox.url)
    statuses = []
    for n in range(200):
        forged = await api.post(url, content=f'{{"n": {n}}}'.encode(), headers={
            "x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=00"})
        statuses.append(forged.status_code)
    assert statuses[:30] == [401] * 30
    assert statuses[30:] == [429] * 170
    assert forged.json()["error"]["code"] == "webhooks_throttled"
    assert 0 < int(forged.headers["retry-after"]) <= webhooks_tool.REJECTION_WINDOW_S
    async with services.db.session(caller.tenant_id) as session:
        logs = (await session.scalars(select(HealthLog))).all()
    assert len(logs) == 1
    assert logs[0].category == "webhook_rejected"
    assert logs[0].details["count"] == 30
    assert "30" in logs[0].message

    # a genuine delivery still gets through while forged ones are being refused
    body = b'{"type": "event_callback", "event_id": "Ev9", "event": {"type": "m"}}'
    genuine = await api.post(url, content=body, headers=_signed("slack", url, body))
    assert genuine.status_code == 200, genuine.text
