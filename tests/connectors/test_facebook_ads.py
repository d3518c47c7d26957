"""The Facebook Ads connector against its simulator: Graph paging, updated_time deltas,
insights windows, batch writes, body-coded throttles, usage headers, signed webhooks."""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.cursors import to_iso
from connectors.errors import MissingScope, QuotaExhausted, ReconnectNeeded
from connectors.providers.facebook_ads import RESTATEMENT_DAYS, SPEC, subscription_answer
from connectors.quota import Priority
from connectors.sandbox.facebook_ads import FacebookAdsState, limits, webhook_delivery
from connectors.sandbox.kit import Faults
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from store.errors import ValidationFailed
from tests.connectors.conftest import Recorder, oauth_tokens

DEMO = SPEC.sandbox_demo["credentials"]
SETTINGS = SPEC.sandbox_demo["settings"]
INSIGHTS = SPEC.stream("insights")


@pytest.fixture
def box(sandbox, monkeypatch):
    box = sandbox.sandboxes["facebook_ads"]
    monkeypatch.setattr(box, "counts_override", {"campaigns": 250, "adsets_per_campaign": 2})
    box.reset()
    return box


def _graph(box, edge: str) -> list[dict]:
    return [r for r in box.requests if r["path"].endswith(edge)]


async def test_reads_campaigns_and_adsets_to_the_last_page(box, connect) -> None:
    # The app demands appsecret_proof: we always send it.
    box.state_as(FacebookAdsState).require_proof = True
    connector = connect("facebook_ads", DEMO, {"ad_account_id": "act_100000000000001"})
    pages = [page async for page in connector.pages("campaigns")]
    ids = [r["id"] for page in pages for r in page.records]
    assert len(ids) == 250 and len(set(ids)) == 250
    assert len(pages) == 3 and pages[-1].resume is None
    assert pages[0].records[0]["updated_time"].endswith("+0000")
    adsets = await connector.read_all("adsets")
    assert len(adsets) == 500 and len({a["id"] for a in adsets}) == 500
    sent = _graph(box, "/campaigns")[0]["query"]
    proof = hmac.new(b"sandbox-secret", b"sandbox", hashlib.sha256).hexdigest()
    assert sent["appsecret_proof"] == proof and sent["limit"] == "100"


async def test_delta_filters_on_updated_time(box, connect) -> None:
    connector = connect("facebook_ads", DEMO, SETTINGS)
    everything = await connector.read_all("campaigns")
    cursor = to_iso(everything[199]["updated_time"])
    changed = await connector.read_all("campaigns", since=cursor)
    assert [r["id"] for r in changed] == [r["id"] for r in everything[199:]]
    rule = json.loads(_graph(box, "/campaigns")[-1]["query"]["filtering"])[0]
    assert rule["field"] == "updated_time" and rule["operator"] == "GREATER_THAN_OR_EQUAL"


async def test_insights_read_daily_rows_then_a_trailing_window(box, connect,
                                                               monkeypatch) -> None:
    monkeypatch.setattr(box, "counts_override", {"campaigns": 5, "adsets_per_campaign": 1})
    box.reset()
    connector = connect("facebook_ads", DEMO, SETTINGS)
    pages = [p async for p in connector.pages("insights", page_size=100)]
    rows = [r for p in pages for r in p.records]
    assert len(pages) == 5 and len(rows) == 5 * 90  # last_90d, one row per campaign a day
    assert len({INSIGHTS.key(r) for r in rows}) == len(rows)
    assert rows[0]["spend"] and rows[0]["date_start"] == rows[0]["date_stop"]

    today = datetime.now(UTC).date()
    since = (today - timedelta(days=10)).isoformat() + "T00:00:00Z"
    recent = await connector.read_all("insights", since=since)
    first = today - timedelta(days=10 + RESTATEMENT_DAYS)
    assert {r["date_start"] for r in recent} == {
        (first + timedelta(days=n)).isoformat() for n in range((today - first).days + 1)}
    assert len(recent) == 5 * ((today - first).days + 1)
    sent = _graph(box, "/insights")[-1]["query"]
    assert "date_preset" not in sent and json.loads(sent["time_range"])["until"] == str(today)


async def test_batch_creates_50_a_call_and_reads_them_back(box, connect) -> None:
    connector = connect("facebook_ads", DEMO, SETTINGS)
    since = to_iso(time.time() - 5)
    records = [{"name": f"Launch {i}", "objective": "OUTCOME_TRAFFIC", "status": "PAUSED",
                "special_ad_categories": []} for i in range(60)]
    records[55] = {"name": "No objective", "special_ad_categories": []}
    result = await connector.write("campaigns.create", records)
    assert (result.ok, result.failed) == (59, 1)
    assert result.errors == [{"index": 5, "code": 100, "batch_start": 50,
                              "message": "(#100) The parameter objective is required"}]
    batches = [r for r in box.requests if r["method"] == "POST" and "batch" in r["params"]]
    assert [len(json.loads(b["params"]["batch"])) for b in batches] == [50, 10]
    back = await connector.read_all("campaigns", since=since)
    assert {r["name"] for r in back} == {r["name"] for r in records} - {"No objective"}
    assert set(result.ids) == {r["id"] for r in back}


async def test_a_throttle_storm_is_ridden_out(box, connect) -> None:
    box.set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("facebook_ads", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("campaigns")) == 250
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited and limited[0].provider_code == "17/2446079"
    assert limited[0].http_status == 400  # Graph throttles are not 429s


async def test_5xx_are_retried(box, connect) -> None:
    box.set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("facebook_ads", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("campaigns")) == 250
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_usage_headers_feed_the_budget_and_buc_throttles_say_when(box, connect) -> None:
    limits(box)["ads_management"] = 4
    connector = connect("facebook_ads", DEMO, SETTINGS, priority=Priority.chat)
    await connector.test_connection()
    left = (await connector.client.budget.remaining())["provider_remaining_fraction"]
    assert left == pytest.approx(0.75)
    for _ in range(3):
        await connector.test_connection()
    sync = connect("facebook_ads", DEMO, SETTINGS)  # syncs stop drawing once usage is high
    with pytest.raises(QuotaExhausted) as held:
        await sync.read_all("campaigns")
    assert "0%" in held.value.message and len(_graph(box, "/campaigns")) == 0
    with pytest.raises(QuotaExhausted) as info:  # 80004 with ~60 minutes to regain access
        await connector.read_all("campaigns")
    assert timedelta(minutes=55) < info.value.resets_at - datetime.now(UTC) < timedelta(
        minutes=61)
    assert info.value.provider_message and "80004" in info.value.message


async def test_an_expired_token_needs_a_person_not_a_refresh(box, sandbox, connect) -> None:
    box.set_faults(Faults(token_expiry_calls=2))
    credentials = await oauth_tokens(sandbox, "facebook_ads", "ads_read,ads_management")
    assert "refresh_token" not in credentials and credentials["expires_at"] > time.time()
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(new)

    connector = connect("facebook_ads", credentials, SETTINGS, save_credentials=save)
    with pytest.raises(ReconnectNeeded) as info:
        await connector.read_all("campaigns")
    assert "expired" in info.value.message and "system-user" in (info.value.action or "")
    assert not saved and len(_graph(box, "/campaigns")) == 3


async def test_missing_permission_is_a_missing_scope(box, sandbox, connect) -> None:
    credentials = await oauth_tokens(sandbox, "facebook_ads", "business_management")
    with pytest.raises(MissingScope) as info:
        await connect("facebook_ads", credentials, SETTINGS).read_all("campaigns")
    assert info.value.provider_code == "200" and "ads_read" in (info.value.action or "")


async def test_bad_credentials_say_reconnect(box, connect) -> None:
    diagnosis = await connect("facebook_ads", {"access_token": "EAAB-wrong"},
                              SETTINGS).test_connection()
    assert not diagnosis.ok and diagnosis.details["provider_code"] == "190"
    assert diagnosis.action and diagnosis.action.startswith("Re-authorise")
    proofless = await connect("facebook_ads", {**DEMO, "app_secret": "other"},
                              SETTINGS).test_connection()
    assert not proofless.ok and "app_secret" in (proofless.action or "")


async def test_connection_test_succeeds_with_the_demo_token(box, connect) -> None:
    diagnosis = await connect("facebook_ads", DEMO, SETTINGS).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "Sandbox Outdoor Gear" in diagnosis.message and "active" in diagnosis.message


async def test_a_wrong_ad_account_is_named(box, connect) -> None:
    with pytest.raises(ValidationFailed):
        connect("facebook_ads", DEMO, {"ad_account_id": "my-account"})
    diagnosis = await connect("facebook_ads", DEMO, {"ad_account_id": "42"}).test_connection()
    assert not diagnosis.ok and "ad_account_id" in (diagnosis.action or "")


def _delivery(box, url: str) -> WebhookRequest:
    headers, body = webhook_delivery(box, url, {"object": "ad_account", "entry": [
        {"id": "100000000000001", "time": 1_700_000_000, "changes": [
            {"field": "in_process_ad_objects", "value": {"id": "1", "status": "SUCCESS"}},
            {"field": "in_process_ad_objects", "value": {"id": "2", "status": "SUCCESS"}}]}]})
    return WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)


async def test_signed_webhook_is_accepted_and_a_forged_one_rejected(box, connect) -> None:
    url = "https://connectus.example/webhooks/facebook_ads/abc"
    connector = connect("facebook_ads", DEMO, SETTINGS)
    good = _delivery(box, url)
    events = connector.verify_webhook(good)
    assert [e.event_type for e in events] == ["ad_account.in_process_ad_objects"] * 2
    assert len({e.event_id for e in events}) == 2
    assert events[0].event_id == connector.verify_webhook(good)[0].event_id  # stable
    assert events[0].event_id.startswith("ad_account:100000000000001:1700000000:")

    tampered = WebhookRequest("POST", url, good.headers, good.body.replace(b"SUCCESS", b"ERR"))
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(tampered)
    legacy_only = {k: v for k, v in good.headers.items() if k != "x-hub-signature-256"}
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(WebhookRequest("POST", url, legacy_only, good.body))
    by_client_secret = connect("facebook_ads", {"access_token": "sandbox",
                                                "client_secret": "sandbox-secret"}, SETTINGS)
    assert len(by_client_secret.verify_webhook(good)) == 2


def test_subscription_handshake_echoes_the_challenge_only_for_our_token() -> None:
    asked = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "t"}
    assert subscription_answer(asked, "t") == "1158201444"
    assert subscription_answer(asked, "other") is None
    assert subscription_answer({**asked, "hub.mode": "unsubscribe"}, "t") is None
