"""Every provider's webhook functions on hostile input: ``verify`` and ``handshake`` only
ever reject (any body, any headers), and ``events`` on a body that passed verification
only ever yields events or says the body is malformed. Nothing else may escape."""

import itertools
import time

import pytest

from connectors.registry import connector_spec
from connectors.spec import InboundEvent, WebhookRequest
from connectors.webhooks import WebhookMalformed, WebhookRejected

PROVIDERS = ("hubspot", "salesforce", "mailchimp", "slack", "google_ads", "facebook_ads",
             "zapier")
BODIES = [b"", b" ", b"null", b"0", b"1e400", b"NaN", b'"x"', b"[]", b"{}", b"[1,2]",
          b"[null]", b'[{"eventId": null}]', b'[{"eventId": true}]', b'{"entry": "x"}',
          b'{"entry": [{"changes": "x"}]}', b'{"entry": [{"changes": [{"value": 1}]}]}',
          b'{"type": "event_callback"}', b'{"type": "event_callback", "event_id": {}}',
          b'{"type": "url_verification"}', b'["url_verification"]', b'"url_verification"',
          b'{"type": "app_rate_limited"}', b'{"lead_id": []}', b'{"lead_id": 7}',
          b"\xff\xfe\x00", b"[" * 100_000, b"{" * 50, b"type=&data=", b"type=x&data[=1",
          b"type[]=a", b"data[a][b][c]=1&data[a]=2&type=t", b"%ff=%fe",
          b"<a/>", b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>",
          b'<?xml version="1.0" encoding="utf-32"?><a/>', b"<" * 1000]
HEADERS = [{}, {"x-hubspot-request-timestamp": "nan", "x-slack-request-timestamp": "nan",
                "x-hubspot-signature-v3": "x", "x-slack-signature": "v0=x",
                "x-hub-signature-256": "sha256=x", "x-connectus-webhook-secret": "x"},
           {"x-slack-request-timestamp": str(int(time.time())),
            "x-hubspot-request-timestamp": str(int(time.time() * 1000))}]
URLS = ["http://h.test/integrations/webhooks/1/",
        "http://h.test/integrations/webhooks/1/?secret=s3cret&token=s3cret",
        "http://h.test/integrations/webhooks/1/?hub.mode=subscribe&hub.verify_token=x"]
SECRETS = {"client_secret": "s3cret", "webhook_secret": "s3cret", "app_secret": "s3cret",
           "org_id": "00D000000000001EAA"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_verify_and_handshake_only_reject(provider: str) -> None:
    hooks = connector_spec(provider).webhooks
    assert hooks is not None
    for body, headers, url, method in itertools.product(BODIES, HEADERS, URLS, ("POST", "GET")):
        request = WebhookRequest(method, url, headers, body)
        for check in filter(None, (hooks.handshake, hooks.verify)):
            try:
                check(request, SECRETS)
            except (WebhookRejected, WebhookMalformed):
                pass


@pytest.mark.parametrize("provider", PROVIDERS)
def test_events_of_a_verified_body_are_events_or_a_malformed_body(provider: str) -> None:
    hooks = connector_spec(provider).webhooks
    assert hooks is not None
    for body in BODIES:
        try:
            found = hooks.events(WebhookRequest("POST", URLS[1], {}, body))
        except WebhookMalformed:
            continue
        except WebhookRejected:  # Salesforce refuses a DTD outright
            assert provider == "salesforce"
            continue
        for event in found:
            assert isinstance(event, InboundEvent)
            assert isinstance(event.event_id, str) and event.event_id
            assert isinstance(event.event_type, str)
            assert isinstance(event.payload, dict)
