"""The Mailchimp connector against its simulator: datacenters, offset paging, deltas, batch
subscribe, the connection limit, OAuth tokens that cannot refresh, and form webhooks."""

import time

import httpx
import pytest

from connectors.cursors import to_iso
from connectors.errors import ReconnectNeeded
from connectors.providers.mailchimp import SPEC
from connectors.sandbox.kit import Faults
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from store.errors import ValidationFailed
from tests.connectors.conftest import Recorder, oauth_tokens

LIST = "4ca5becb8d"
DEMO = {"api_key": "sandbox-us1", "webhook_secret": "sandbox-webhook-secret"}
SETTINGS = {"list_id": LIST}


def _count(sandbox, monkeypatch, members: int) -> None:
    box = sandbox.sandboxes["mailchimp"]
    wanted = {LIST: members, "8d3c9a1f27": 5, "b5e0f1d2c3": 0}
    monkeypatch.setattr(box, "counts_override", wanted)  # restored after the test
    box.reset()


def _requests(sandbox, suffix: str, method: str = "GET") -> list[dict]:
    return [r for r in sandbox.sandboxes["mailchimp"].requests
            if r["path"].endswith(suffix) and r["method"] == method]


async def test_reads_lists_and_every_member_to_the_last_page(sandbox, connect,
                                                             monkeypatch) -> None:
    _count(sandbox, monkeypatch, 2345)
    connector = connect("mailchimp", DEMO, SETTINGS)
    lists = await connector.read_all("lists")
    assert [item["id"] for item in lists] == [LIST, "8d3c9a1f27", "b5e0f1d2c3"]
    pages = [p async for p in connector.pages("members")]
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == 2345 and len(set(ids)) == 2345
    assert [len(p.records) for p in pages] == [1000, 1000, 345]
    assert pages[-1].resume is None and pages[0].cursor
    calls = _requests(sandbox, f"/lists/{LIST}/members")
    assert [c["query"]["offset"] for c in calls] == ["0", "1000", "2000"]
    assert all(c["path"].startswith("/mailchimp/us1/3.0/") for c in calls)  # dc from the key
    assert "_links" not in pages[0].records[0]


async def test_delta_reads_only_what_changed_since_the_cursor(sandbox, connect,
                                                              monkeypatch) -> None:
    _count(sandbox, monkeypatch, 2345)
    connector = connect("mailchimp", DEMO, SETTINGS)
    everything = await connector.read_all("members")
    cursor = to_iso(everything[1500]["last_changed"])
    changed = await connector.read_all("members", since=cursor)
    assert [r["id"] for r in changed] == [r["id"] for r in everything[1500:]]
    since = _requests(sandbox, f"/lists/{LIST}/members")[-1]["query"]["since_last_changed"]
    assert since.endswith("+00:00") and "." not in since  # the documented format


async def test_batch_subscribe_in_batches_of_500_then_read_back(sandbox, connect,
                                                                monkeypatch) -> None:
    _count(sandbox, monkeypatch, 20)
    connector = connect("mailchimp", DEMO, SETTINGS)
    existing = (await connector.read_all("members"))[0]
    since = to_iso(time.time() - 2)
    records = [{"email_address": f"new{i}@example.com", "status": "subscribed",
                "merge_fields": {"FNAME": f"New{i}"}} for i in range(600)]
    records[3] = {"email_address": "not-an-email", "status": "subscribed"}
    records.append({"email_address": existing["email_address"], "status_if_new": "subscribed",
                    "merge_fields": {"LNAME": "Updated"}})
    result = await connector.write("members.upsert", records)
    assert (result.ok, result.failed) == (600, 1)
    assert result.errors[0]["email_address"] == "not-an-email"
    assert result.errors[0]["code"] == "ERROR_GENERIC"
    # which record did what, by its index in the records given (across both batches)
    assert set(result.refused) == {3} and "ERROR_GENERIC" in result.refused[3]
    assert set(result.written) == set(range(601)) - {3}
    assert result.written[600] == existing["id"]
    assert len(_requests(sandbox, f"/lists/{LIST}", "POST")) == 2
    changed = await connector.read_all("members", since=since)
    emails = {r["email_address"] for r in changed}
    assert emails >= {r["email_address"] for r in records if "@" in r["email_address"]}
    assert [r["merge_fields"]["LNAME"] for r in changed if r["id"] == existing["id"]] == \
        ["Updated"]


async def test_a_connection_limit_storm_is_ridden_out(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, 2345)
    sandbox.sandboxes["mailchimp"].set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("mailchimp", DEMO, SETTINGS, observer=recorder)
    assert len({r["id"] for r in await connector.read_all("members")}) == 2345
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited and limited[0].provider_code == "TooManyRequests"
    assert limited[0].retry_after is None  # Mailchimp sends none: exponential backoff


async def test_5xx_are_retried(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, 2345)
    sandbox.sandboxes["mailchimp"].set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("mailchimp", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("members")) == 2345
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_a_bad_key_says_fix_the_key(sandbox, connect) -> None:
    connector = connect("mailchimp", {"api_key": "0123456789abcdef-us1"}, SETTINGS)
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok and diagnosis.details["category"] == "auth"
    assert diagnosis.details["http_status"] == 401
    assert diagnosis.details["provider_code"] == "APIKeyInvalid"
    assert diagnosis.action and "credentials.api_key" in diagnosis.action
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("lists")
    assert len(sandbox.sandboxes["mailchimp"].requests) == 2  # refused, not retried


def test_a_key_without_its_datacenter_is_refused_by_name(sandbox, connect) -> None:
    with pytest.raises(ValidationFailed, match=r"credentials\.api_key"):
        SPEC.auth.validate({})
    with pytest.raises(ValidationFailed, match=r"credentials\.api_key.*-us6"):
        SPEC.auth.validate({"api_key": "0123456789abcdef"})
    with pytest.raises(ValidationFailed, match=r"credentials\.api_key"):
        connect("mailchimp", {"api_key": "0123456789abcdef"}, SETTINGS)
    SPEC.auth.validate({"api_key": "0123456789abcdef-us6"})


async def test_connection_test_succeeds_with_the_demo_key(sandbox, connect) -> None:
    demo = SPEC.sandbox_demo
    diagnosis = await connect("mailchimp", demo["credentials"],
                              demo["settings"]).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "Connectus Sandbox" in diagnosis.message


async def test_oauth_token_gets_its_datacenter_and_cannot_be_refreshed(sandbox, connect,
                                                                       monkeypatch) -> None:
    _count(sandbox, monkeypatch, 2345)
    credentials = await oauth_tokens(sandbox, "mailchimp")
    assert credentials["dc"] == "us1" and "expires_at" not in credentials
    assert "refresh_token" not in credentials
    SPEC.auth.validate(credentials)
    assert (await connect("mailchimp", credentials, SETTINGS).test_connection()).ok

    sandbox.sandboxes["mailchimp"].set_faults(Faults(token_expiry_calls=2))
    expiring = await oauth_tokens(sandbox, "mailchimp")
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(new)

    connector = connect("mailchimp", expiring, SETTINGS, save_credentials=save)
    with pytest.raises(ReconnectNeeded) as caught:
        await connector.read_all("members")
    assert caught.value.action and "OAuth" in caught.value.action
    assert saved == []


async def test_wrong_datacenter_names_the_right_one(sandbox, connect) -> None:
    credentials = {**(await oauth_tokens(sandbox, "mailchimp")), "dc": "us9"}
    diagnosis = await connect("mailchimp", credentials, SETTINGS).test_connection()
    assert not diagnosis.ok and diagnosis.details["category"] == "bad_request"
    assert "us1" in diagnosis.message and "-us1" in (diagnosis.action or "")


def _delivery(sandbox, url: str, payload: dict | None = None) -> WebhookRequest:
    from connectors.sandbox.mailchimp import webhook_delivery

    headers, body = webhook_delivery(sandbox.sandboxes["mailchimp"], url, payload)
    return WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)


async def test_webhook_secret_is_checked_and_events_are_split(sandbox, connect) -> None:
    url = "https://connectus.example/webhooks/mailchimp/abc?secret=sandbox-webhook-secret"
    connector = connect("mailchimp", DEMO, SETTINGS)
    good = _delivery(sandbox, url, {"type": "subscribe", "fired_at": "2024-05-01 10:00:00"})
    [event] = connector.verify_webhook(good)
    assert event.event_type == "subscribe"
    assert event.payload["data"]["list_id"] == LIST
    assert event.payload["data"]["merges"]["EMAIL"] == event.payload["data"]["email"]
    again = _delivery(sandbox, url, {"type": "subscribe", "fired_at": "2024-05-01 10:00:00"})
    assert connector.verify_webhook(again)[0].event_id == event.event_id  # a redelivery
    later = _delivery(sandbox, url, {"type": "profile", "fired_at": "2024-05-01 10:00:01"})
    assert connector.verify_webhook(later)[0].event_id != event.event_id

    for forged in (url.replace("sandbox-webhook-secret", "guess"), url.split("?")[0]):
        with pytest.raises(WebhookRejected):
            connector.verify_webhook(WebhookRequest("POST", forged, good.headers, good.body))
    ping = WebhookRequest("GET", url, {"user-agent": "MailChimp.com WebHook Validator"}, b"")
    assert connector.verify_webhook(ping) == []  # the validation GET when a hook is saved
    with pytest.raises(WebhookRejected):
        connect("mailchimp", {"api_key": "sandbox-us1"}, SETTINGS).verify_webhook(good)


@pytest.mark.parametrize(("status", "title", "code"), [
    (403, "User Disabled", "reconnect_needed"), (503, "Compliance Related", "provider_config"),
    (403, None, "rate_limited"), (403, "Forbidden", "missing_scope"),
    (400, "Invalid Resource", "provider_bad_request"),
    (500, "Internal Server Error", "provider_down")])
def test_problem_bodies_the_simulator_does_not_send(status, title, code) -> None:
    body = {"title": title, "status": status, "detail": "..."} if title else None
    response = httpx.Response(status, json=body) if body else httpx.Response(status)
    found = SPEC.classify(response, body)
    assert (found.code if found else None) == code  # 5xx: the default rows (retried)
