"""Provider webhooks into Connectus over HTTP: each of the seven providers' real signing
(built by its simulator) is accepted, stored once, and a forged delivery is refused."""

import importlib
import json
from typing import Any

import pytest
from sqlalchemy import select

from connectors.registry import connector_spec
from connectors.sandbox.kit import EPOCH
from store.models import HealthLog, WebhookEvent
from tools.context import Services

PAYLOADS: dict[str, Any] = {
    "hubspot": [{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 51,
                 "portalId": 62515, "occurredAt": (EPOCH + 5) * 1000},
                {"eventId": 2, "subscriptionType": "contact.propertyChange", "objectId": 51,
                 "portalId": 62515, "occurredAt": (EPOCH + 6) * 1000}],
    "salesforce": {"object": "Contact", "records": [
        {"Id": "0035g00000A1b2cAAB", "LastName": "Hopper", "Email": "grace@example.com"}]},
    "mailchimp": None,
    "slack": {"type": "member_joined_channel", "user": "U060000001"},
    "google_ads": {"form_id": 42},
    "facebook_ads": {"object": "ad_account", "entry": [
        {"id": "100000000000001", "time": 1_700_000_000, "changes": [
            {"field": "in_process_ad_objects", "value": {"id": "1", "status": "SUCCESS"}}]}]},
    "zapier": {"id": "row-7", "event": "sheet.row", "name": "Ada"},
}
URL_SECRET = {"salesforce": "?token=sandbox-webhook-secret",
              "mailchimp": "?secret=sandbox-webhook-secret"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _integration(api, key: str, provider: str, sandbox_url: str) -> str:
    demo = connector_spec(provider).sandbox_demo
    credentials = {k: v.format(sandbox_url=sandbox_url) if isinstance(v, str) else v
                   for k, v in demo["credentials"].items()}
    created = await api.post("/integrations/integrations/", headers=_auth(key), json={
        "provider": provider, "name": provider, "credentials": credentials,
        "settings": {**demo["settings"], "sandbox_url": sandbox_url}})
    assert created.status_code == 201, created.text
    body = created.json()
    return "http://connectus.test" + body["webhook_path"] + URL_SECRET.get(provider, "")


def _delivery(sandbox, provider: str, url: str, payload: Any) -> tuple[dict, bytes]:
    simulator = importlib.import_module(f"connectors.sandbox.{provider}")
    return simulator.webhook_delivery(sandbox.sandboxes[provider], url, payload)


@pytest.mark.parametrize("provider", sorted(PAYLOADS))
async def test_signed_delivery_is_stored_once_and_a_forged_one_refused(
        api, services: Services, tenant, sandbox, provider: str) -> None:
    caller, key = tenant
    url = await _integration(api, key, provider, sandbox.url)
    headers, body = _delivery(sandbox, provider, url, PAYLOADS[provider])

    first = await api.post(url, headers=headers, content=body)
    assert first.status_code == 200, first.text
    stored = int(first.headers["x-connectus-events-stored"])
    assert stored >= 1
    again = await api.post(url, headers=headers, content=body)  # providers redeliver
    assert again.headers["x-connectus-events-stored"] == "0"
    assert int(again.headers["x-connectus-events-duplicate"]) == stored

    forged = body.replace(b"51", b"52") if provider == "hubspot" else body + b" "
    if provider in URL_SECRET:  # unsigned providers: the secret in the URL is the proof
        refused = await api.post(url.split("?")[0] + "?secret=guess&token=guess",
                                 headers=headers, content=body)
    elif provider in {"zapier", "google_ads"}:
        wrong = _delivery(sandbox, provider, url, PAYLOADS[provider])
        bad_headers = {k: ("guess" if "secret" in k.lower() else v)
                       for k, v in wrong[0].items()}
        bad_body = wrong[1].replace(b"sandbox-webhook-secret", b"guess")
        refused = await api.post(url, headers=bad_headers, content=bad_body)
    else:
        refused = await api.post(url, headers=headers, content=forged)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "webhook_rejected"

    async with services.db.session(caller.tenant_id) as session:
        events = (await session.scalars(select(WebhookEvent))).all()
        logs = (await session.scalars(select(HealthLog))).all()
    assert len(events) == stored
    assert [log.category for log in logs] == ["webhook_rejected"]


async def test_slack_url_verification_is_answered_with_the_challenge(api, tenant,
                                                                      sandbox) -> None:
    _, key = tenant
    url = await _integration(api, key, "slack", sandbox.url)
    headers, body = _delivery(sandbox, "slack", url,
                              {"type": "url_verification", "challenge": "c-123"})
    answer = await api.post(url, headers=headers, content=body)
    assert answer.status_code == 200 and answer.json() == {"challenge": "c-123"}
    unsigned = await api.post(url, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401


async def test_facebook_subscription_handshake(api, tenant, sandbox) -> None:
    _, key = tenant
    url = await _integration(api, key, "facebook_ads", sandbox.url)
    answer = await api.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                        "hub.verify_token": "sandbox-secret-not"})
    assert answer.status_code == 401
    # the verify token is the integration's verify_token, set when the webhook is configured
    integration_id = url.rstrip("/").split("/")[-1]
    await api.patch(f"/integrations/integrations/{integration_id}/", headers=_auth(key),
                    json={"credentials": {"verify_token": "my-verify-token"}})
    answer = await api.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                        "hub.verify_token": "my-verify-token"})
    assert answer.status_code == 200 and answer.text == "1158201444"


async def test_mailchimp_validation_get_and_salesforce_ack(api, tenant, sandbox) -> None:
    _, key = tenant
    mailchimp = await _integration(api, key, "mailchimp", sandbox.url)
    assert (await api.get(mailchimp)).status_code == 200
    assert (await api.get(mailchimp.split("?")[0])).status_code == 401
    salesforce = await _integration(api, key, "salesforce", sandbox.url)
    headers, body = _delivery(sandbox, "salesforce", salesforce, PAYLOADS["salesforce"])
    ack = await api.post(salesforce, headers=headers, content=body)
    assert ack.headers["content-type"].startswith("text/xml")
    assert b"<Ack>true</Ack>" in ack.content


async def test_unknown_endpoint_is_a_404(api) -> None:
    response = await api.post("/integrations/webhooks/00000000-0000-0000-0000-000000000000/",
                              content=json.dumps({}).encode())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
