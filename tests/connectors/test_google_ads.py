"""The Google Ads connector against its simulator: GAQL paging, trailing-window deltas,
partial-failure writes, quota errors, developer-token trouble, lead-form webhooks."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors import oauth
from connectors.errors import BadRequest, MissingScope, QuotaExhausted, ReconnectNeeded
from connectors.providers.google_ads import HISTORY_DAYS, RESTATEMENT_DAYS, SPEC
from connectors.request import Request
from connectors.sandbox.google_ads import quota, webhook_delivery
from connectors.sandbox.kit import Faults
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from store.errors import ValidationFailed
from tests.connectors.conftest import Recorder

DEMO = SPEC.sandbox_demo["credentials"]
SETTINGS = SPEC.sandbox_demo["settings"]
METRICS = SPEC.stream("campaign_metrics")


@pytest.fixture
def box(sandbox):
    return sandbox.sandboxes["google_ads"]


@pytest.fixture
def counts(box, monkeypatch):
    """Shrink or grow the simulator's campaigns (one ad group each); restored afterwards."""
    def set_counts(campaigns: int) -> None:
        monkeypatch.setattr(box, "counts_override", {"campaigns": campaigns,
                                                     "ad_groups_per_campaign": 1})
        box.reset()

    return set_counts


def _searches(box) -> list[dict]:
    return [r for r in box.requests if r.get("kind") == "search"]


async def test_reads_campaigns_and_ad_groups_across_10000_row_pages(box, counts, connect) -> None:
    counts(10_050)
    connector = connect("google_ads", DEMO, SETTINGS)
    pages = [page async for page in connector.pages("campaigns")]
    ids = [r["campaign"]["id"] for page in pages for r in page.records]
    assert len(ids) == 10_050 and len(set(ids)) == 10_050
    assert [len(p.records) for p in pages] == [10_000, 50] and pages[-1].resume is None
    groups = await connector.read_all("ad_groups")
    keys = {SPEC.stream("ad_groups").key(r) for r in groups}
    assert len(groups) == len(keys) == 10_050
    second = _searches(box)[1]["body"]
    assert second["pageToken"] and "pageSize" not in second  # Google refuses a page size


async def test_metrics_read_a_window_then_a_trailing_window_by_date(box, counts,
                                                                  connect) -> None:
    counts(120)
    connector = connect("google_ads", DEMO, SETTINGS)
    rows = await connector.read_all("campaign_metrics")
    today = datetime.now(UTC).date()
    assert len(rows) == 120 * (HISTORY_DAYS + 1)
    assert len({METRICS.key(r) for r in rows}) == len(rows)  # (campaign id, date) is unique
    assert rows[0]["segments"]["date"] == (today - timedelta(days=HISTORY_DAYS)).isoformat()
    assert rows[0]["metrics"]["impressions"].isdigit()  # int64 arrive as strings

    cursor = datetime.combine(today - timedelta(days=10), datetime.min.time(), UTC).isoformat()
    pages = [p async for p in connector.pages("campaign_metrics", since=cursor)]
    dates = {r["segments"]["date"] for p in pages for r in p.records}
    first = today - timedelta(days=10 + RESTATEMENT_DAYS)
    assert min(dates) == first.isoformat() and max(dates) == today.isoformat()
    assert sum(len(p.records) for p in pages) == 120 * ((today - first).days + 1)
    assert pages[-1].cursor.startswith(today.isoformat())
    assert f"BETWEEN '{first}' AND '{today}'" in _searches(box)[-1]["body"]["query"]


async def test_campaigns_are_created_10000_a_call_and_read_back(box, counts, connect) -> None:
    counts(40)
    connector = connect("google_ads", DEMO, SETTINGS)
    records = [{"name": f"Launch {i}", "status": "PAUSED"} for i in range(10_001)]
    records.append({"name": "Launch 7"})  # a duplicate name: one failure, not the whole call
    result = await connector.write("campaigns.create", records)
    assert (result.ok, result.failed) == (10_001, 1)
    assert result.errors[0]["batch_start"] == 10_000 and result.errors[0]["index"] == 1
    assert "DUPLICATE_CAMPAIGN_NAME" in json.dumps(result.errors[0]["code"])
    assert len([r for r in box.requests if r.get("kind") == "mutate"]) == 2
    names = {r["campaign"]["name"] for r in await connector.read_all("campaigns")}
    assert {r["name"] for r in records} <= names and len(names) == 40 + 10_001


async def test_conversion_uploads_split_at_2000_and_count_bad_rows(box, connect) -> None:
    connector = connect("google_ads", DEMO, SETTINGS)
    action = "customers/1234567890/conversionActions/77"
    rows = [{"gclid": f"EAIaIQobChMI-{i:06d}", "conversionAction": action,
             "conversionDateTime": "2024-05-01 12:00:00+00:00", "conversionValue": 3.5,
             "currencyCode": "USD"} for i in range(2_100)]
    rows[5]["gclid"] = "bad"
    rows[2_050]["conversionDateTime"] = "yesterday"
    result = await connector.write("conversions.upload", rows)
    assert (result.ok, result.failed) == (2_098, 2)
    assert [(e["batch_start"], e["index"]) for e in result.errors] == [(0, 5), (2_000, 50)]


async def test_a_throttle_storm_is_ridden_out_with_retry_delay(box, counts, connect) -> None:
    counts(120)
    box.set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("google_ads", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("campaign_metrics")) == 120 * (HISTORY_DAYS + 1)
    assert len(await connector.read_all("campaigns")) == 120
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited and limited[0].provider_code == "quotaError.RESOURCE_TEMPORARILY_EXHAUSTED"
    assert limited[0].retry_after == 0


async def test_5xx_are_retried(box, counts, connect) -> None:
    counts(120)
    box.set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("google_ads", DEMO, SETTINGS, observer=recorder)
    assert len(await connector.read_all("campaign_metrics")) == 120 * (HISTORY_DAYS + 1)
    assert len(await connector.read_all("ad_groups")) == 120
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_the_daily_quota_is_reported_with_its_reset_not_retried(box, connect) -> None:
    quota(box)["daily_operations"] = 2
    connector = connect("google_ads", DEMO, SETTINGS)
    assert (await connector.test_connection()).ok
    await connector.read_all("campaigns")
    with pytest.raises(QuotaExhausted) as info:
        await connector.read_all("campaigns")
    tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1),
                                datetime.min.time(), UTC)
    assert abs((info.value.resets_at - tomorrow).total_seconds()) < 5
    assert len(_searches(box)) == 2


async def test_token_expiring_mid_stream_is_refreshed_and_saved(box, counts, sandbox,
                                                               connect) -> None:
    counts(120)
    box.set_faults(Faults(token_expiry_calls=2))
    config, verifier = SPEC.auth.oauth, oauth.new_verifier()
    authorize, token_url = oauth.oauth_urls(config, sandbox.url, SPEC.sandbox_oauth)
    consent_url = oauth.authorize_url(config, authorize, "sandbox-client",
                                      "http://localhost/cb", "s1", verifier)
    assert "access_type=offline" in consent_url and "code_challenge=" in consent_url
    async with httpx.AsyncClient() as client:
        consent = await client.get(consent_url)
    code = httpx.URL(consent.headers["location"]).params["code"]
    credentials = await oauth.exchange(config, token_url, "sandbox-client", "sandbox-secret",
                                       "http://localhost/cb", code, verifier, "google_ads")
    assert credentials["refresh_token"].startswith("1//")
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(dict(new))

    connector = connect("google_ads", {**credentials, "developer_token": DEMO["developer_token"]},
                        SETTINGS, save_credentials=save)
    assert len(await connector.read_all("campaign_metrics")) == 120 * (HISTORY_DAYS + 1)
    assert len(await connector.read_all("campaigns")) == 120
    assert saved and saved[-1]["access_token"] != credentials["access_token"]
    assert saved[-1]["refresh_token"] == credentials["refresh_token"]  # Google keeps it
    assert saved[-1]["developer_token"] == DEMO["developer_token"]


async def test_a_bad_developer_token_is_no_refresh_matter(box, connect) -> None:
    connector = connect("google_ads", {**DEMO, "developer_token": "nope",
                                       "refresh_token": "1//0x"}, SETTINGS)
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok and "developer token" in (diagnosis.action or "")
    assert diagnosis.details["provider_code"] == "authenticationError.DEVELOPER_TOKEN_INVALID"
    assert not [r for r in box.requests if r["path"].endswith("/token")]  # no refresh tried
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("campaigns")


async def test_bad_credentials_say_reconnect(box, connect) -> None:
    diagnosis = await connect("google_ads", {**DEMO, "access_token": "ya29.wrong"},
                              SETTINGS).test_connection()
    assert not diagnosis.ok and diagnosis.details["http_status"] == 401
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")


async def test_connection_test_succeeds_with_the_demo_token(box, connect) -> None:
    diagnosis = await connect("google_ads", DEMO, SETTINGS).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "2 customer account(s)" in diagnosis.message and "1234567890" in diagnosis.message


async def test_account_ids_are_checked_and_the_login_customer_header_sent(box, connect) -> None:
    with pytest.raises(ValidationFailed) as info:
        connect("google_ads", DEMO, {**SETTINGS, "login_customer_id": "12345"})
    assert info.value.details[0]["field"] == "settings.login_customer_id"
    manager = connect("google_ads", DEMO, {"customer_id": "123-456-7890",
                                           "login_customer_id": "987-654-3210"})
    assert len(await manager.read_all("campaigns")) == 40
    stranger = connect("google_ads", DEMO, {**SETTINGS, "login_customer_id": "5555555555"})
    with pytest.raises(MissingScope) as denied:
        await stranger.read_all("campaigns")
    assert "login_customer_id" in (denied.value.action or "")


async def test_a_bad_query_is_a_bad_request_in_googles_words(box, connect) -> None:
    connector = connect("google_ads", DEMO, SETTINGS)
    with pytest.raises(BadRequest) as info:
        await connector.client.send(Request(
            "POST", "/customers/1234567890/googleAds:search",
            json={"query": "SELECT campaign.nope FROM campaign"}))
    assert "campaign.nope" in info.value.message
    assert info.value.provider_code == "queryError.UNRECOGNIZED_FIELD"


def _lead(box, url: str) -> WebhookRequest:
    headers, body = webhook_delivery(box, url, {"form_id": 42})
    return WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)


async def test_lead_webhooks_are_checked_by_google_key(box, connect) -> None:
    url = "https://connectus.example/webhooks/google_ads/abc"
    connector = connect("google_ads", DEMO, SETTINGS)
    good = _lead(box, url)
    events = connector.verify_webhook(good)
    assert [e.event_id for e in events] == [json.loads(good.body)["lead_id"]]
    assert "google_key" not in events[0].payload and events[0].payload["form_id"] == 42

    forged = json.loads(good.body) | {"google_key": "guess"}
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(WebhookRequest("POST", url, good.headers,
                                                json.dumps(forged).encode()))
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(WebhookRequest("POST", url, good.headers, b"google_key=x"))


def test_the_date_window_is_filled_when_a_read_starts() -> None:
    query = METRICS.body["query"]
    assert "{since}" in query and "{until}" in query  # the spec itself stays undated
    filled = METRICS.paginator.first(Request("POST", "/x", json={"query": query}), 1)
    today = datetime.now(UTC).date()
    assert f"'{today - timedelta(days=HISTORY_DAYS)}' AND '{today}'" in filled.json["query"]
