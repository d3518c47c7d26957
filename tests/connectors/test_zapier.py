"""The Zapier connector against its simulator: zaps to the last page, events to a Catch
Hook in batches, the API's throttle, a turned-off Zap, and the shared-secret webhook."""


import httpx
import pytest

from connectors.sandbox.kit import Faults
from connectors.sandbox.zapier import ZapierState
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from tests.connectors.conftest import oauth_tokens


def _demo(sandbox) -> dict:
    return {"access_token": "sandbox", "webhook_secret": "sandbox-webhook-secret",
            "hook_url": f"{sandbox.url}/zapier/hooks/catch/1234567/connectus/"}


async def test_reads_every_zap_to_the_last_page(sandbox, connect) -> None:
    box = sandbox.sandboxes["zapier"]
    box.counts_override = {"zaps": 257}
    box.reset()
    pages = [p async for p in connect("zapier", _demo(sandbox)).pages("zaps")]
    ids = [z["id"] for p in pages for z in p.records]
    assert len(ids) == 257 and len(set(ids)) == 257
    assert len(pages) == 3 and pages[-1].resume is None


async def test_events_go_to_the_hook_in_batches_one_run_each(sandbox, connect) -> None:
    connector = connect("zapier", _demo(sandbox))
    events = [{"event": "contact.created", "email": f"p{i}@example.com"} for i in range(230)]
    result = await connector.write("events.send", events)
    assert (result.ok, result.failed) == (230, 0)
    seen = sandbox.sandboxes["zapier"].state_as(ZapierState)
    assert len(seen.catches) == 3  # 100 + 100 + 30
    assert [r["data"]["email"] for r in seen.runs] == [e["email"] for e in events]


async def test_the_api_throttle_is_ridden_out(sandbox, connect) -> None:
    sandbox.sandboxes["zapier"].set_faults(Faults(rate_429=0.5, retry_after_s=0))
    box = sandbox.sandboxes["zapier"]
    box.counts_override = {"zaps": 150}
    box.reset()
    box.set_faults(Faults(rate_429=0.5, retry_after_s=0))
    assert len(await connect("zapier", _demo(sandbox)).read_all("zaps")) == 150


async def test_5xx_are_retried(sandbox, connect) -> None:
    box = sandbox.sandboxes["zapier"]
    box.counts_override = {"zaps": 150}
    box.reset()
    box.set_faults(Faults(rate_5xx=0.4))
    assert len(await connect("zapier", _demo(sandbox)).read_all("zaps")) == 150


async def test_a_turned_off_zap_is_reported_not_retried(sandbox, connect) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(f"{sandbox.url}/zapier/_sandbox/rest-hooks",
                          json={"subscription_id": "sub-1", "active": False})
    credentials = {**_demo(sandbox),
                   "hook_url": f"{sandbox.url}/zapier/hooks/standard/sub-1/"}
    result = await connect("zapier", credentials).write("events.send", [{"n": 1}, {"n": 2}])
    assert (result.ok, result.failed) == (0, 2)
    assert "turned off or deleted" in result.errors[0]["message"]
    deliveries = [r for r in sandbox.sandboxes["zapier"].requests
                  if "/hooks/standard/" in r["path"]]
    assert len(deliveries) == 1  # a 410 is an answer, not a reason to retry


async def test_token_refresh_mid_stream(sandbox, connect) -> None:
    box = sandbox.sandboxes["zapier"]
    box.counts_override = {"zaps": 300}
    box.reset()
    box.set_faults(Faults(token_expiry_calls=1))
    tokens = await oauth_tokens(sandbox, "zapier")
    saved: list[dict] = []

    async def save(fresh: dict) -> None:
        saved.append(fresh)

    credentials = {**_demo(sandbox), **tokens}
    zaps = await connect("zapier", credentials, save_credentials=save).read_all("zaps")
    assert len(zaps) == 300
    assert len(saved) >= 2 and saved[-1]["access_token"] != tokens["access_token"]


async def test_connection_tests(sandbox, connect) -> None:
    good = await connect("zapier", _demo(sandbox)).test_connection()
    assert good.ok and "Sandbox Owner" in good.message
    bad = await connect("zapier", {**_demo(sandbox), "access_token": "nope"}).test_connection()
    assert not bad.ok and bad.action and bad.action.startswith("Reconnect")


def test_inbound_webhook_needs_the_shared_secret(sandbox, connect) -> None:
    from connectors.sandbox.zapier import webhook_delivery

    connector = connect("zapier", _demo(sandbox))
    url = "https://connectus.example/webhooks/zapier/1"
    headers, body = webhook_delivery(sandbox.sandboxes["zapier"], url,
                                     {"id": "row-7", "event": "sheet.row", "name": "Ada"})
    request = WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)
    [event] = connector.verify_webhook(request)
    assert (event.event_id, event.event_type) == ("row-7", "sheet.row")
    forged = WebhookRequest("POST", url, {"x-connectus-webhook-secret": "guess"}, body)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(forged)
    unsigned = WebhookRequest("POST", url, {}, body)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(unsigned)
