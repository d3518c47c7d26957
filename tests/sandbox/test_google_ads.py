"""Google Ads simulator: GAQL paging and streaming, errors, quota, OAuth, mutates, lead webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.sandbox import google_ads
from connectors.sandbox.kit import Faults, ProviderSandbox
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Receiver

HEADERS = {"Authorization": "Bearer sandbox", "developer-token": "sandbox-developer-token"}
CUSTOMER = "1234567890"
YEAR = ("SELECT campaign.id, campaign.name, segments.date, metrics.impressions, metrics.clicks, "
        "metrics.cost_micros, metrics.conversions FROM campaign "
        "WHERE segments.date BETWEEN '2024-01-01' AND '2024-12-31' ORDER BY segments.date")


@pytest.fixture
def box(sandbox: SandboxServer) -> Iterator[ProviderSandbox]:
    ads_box = sandbox.sandboxes["google_ads"]
    yield ads_box
    ads_box.counts_override = {}
    ads_box.reset()


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/google_ads", timeout=30) as http:
        yield http


def search(client: httpx.Client, query: str, customer: str = CUSTOMER, version: str = "v20",
           headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    return client.post(f"/{version}/customers/{customer}/googleAds:search",
                       headers=headers or HEADERS, json={"query": query, **extra})


def all_rows(client: httpx.Client, query: str) -> list[dict[str, Any]]:
    rows, token = [], None
    while True:
        body = search(client, query, **({"pageToken": token} if token else {})).json()
        rows.extend(body.get("results", []))
        token = body.get("nextPageToken")
        if not token:
            return rows


def failure(response: httpx.Response) -> dict[str, Any]:
    """The single GoogleAdsError of a failed response, checking the envelope around it."""
    error = response.json()["error"]
    assert error["code"] == response.status_code
    detail = error["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.ads.googleads.v20.errors.GoogleAdsFailure"
    assert detail["requestId"] == response.headers["request-id"]
    return detail["errors"][0]  # type: ignore[no-any-return]


def test_list_accessible_customers(box: ProviderSandbox, client: httpx.Client) -> None:
    answer = client.get("/v20/customers:listAccessibleCustomers", headers=HEADERS)
    assert answer.json() == {"resourceNames": ["customers/1234567890", "customers/9876543210"]}
    assert len(answer.headers["request-id"]) >= 16


def test_a_year_of_daily_rows_pages_at_ten_thousand(box: ProviderSandbox,
                                                    client: httpx.Client) -> None:
    first = search(client, YEAR, returnTotalResultsCount=True).json()
    assert len(first["results"]) == 10_000 and first["totalResultsCount"] == "14640"
    assert first["fieldMask"] == ("campaign.id,campaign.name,segments.date,metrics.impressions,"
                                  "metrics.clicks,metrics.costMicros,metrics.conversions")
    second = search(client, YEAR, pageToken=first["nextPageToken"]).json()
    assert len(second["results"]) == 4_640 and "nextPageToken" not in second
    rows = first["results"] + second["results"]
    keys = {(r["campaign"]["id"], r["segments"]["date"]) for r in rows}
    assert len(keys) == 366 * 40
    dates = [r["segments"]["date"] for r in rows]
    assert dates == sorted(dates) and dates[0] == "2024-01-01" and dates[-1] == "2024-12-31"
    row = rows[0]
    campaign_id = row["campaign"]["id"]
    assert row["campaign"]["resourceName"] == f"customers/{CUSTOMER}/campaigns/{campaign_id}"
    assert isinstance(row["campaign"]["id"], str) and isinstance(row["metrics"]["clicks"], str)
    assert isinstance(row["metrics"]["costMicros"], str)
    assert isinstance(row["metrics"]["conversions"], float)
    assert search(client, YEAR).json()["results"][0] == row, "metrics are deterministic"
    seen = box.requests[-1]
    assert (seen["method"], seen["kind"], seen["body"]) == ("POST", "search", {"query": YEAR})
    other = search(client, YEAR.replace("2024-12-31", "2024-12-30"),
                   pageToken=first["nextPageToken"])
    assert other.status_code == 400
    assert failure(other)["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}


def test_search_stream_returns_the_same_rows_in_batches(box: ProviderSandbox,
                                                        client: httpx.Client) -> None:
    response = client.post(f"/v20/customers/{CUSTOMER}/googleAds:searchStream", headers=HEADERS,
                           json={"query": YEAR})
    batches = response.json()
    assert [len(b["results"]) for b in batches] == [10_000, 4_640]
    assert all(b["requestId"] == response.headers["request-id"] for b in batches)
    assert "queryResourceConsumption" in batches[-1]
    streamed = batches[0]["results"] + batches[1]["results"]
    assert streamed == all_rows(client, YEAR)
    empty = client.post(f"/v20/customers/{CUSTOMER}/googleAds:searchStream", headers=HEADERS,
                        json={"query": "SELECT campaign.id FROM campaign WHERE "
                                       "campaign.status = 'ENABLED' AND campaign.id = 1"}).json()
    assert len(empty) == 1 and "results" not in empty[0] and empty[0]["fieldMask"] == "campaign.id"


def test_date_and_status_filters(box: ProviderSandbox, client: httpx.Client) -> None:
    today = datetime.now(UTC).date()
    week = all_rows(client, "SELECT campaign.id, segments.date FROM campaign "
                            "WHERE segments.date DURING LAST_7_DAYS")
    assert sorted({r["segments"]["date"] for r in week}) == [
        (today - timedelta(days=n)).isoformat() for n in range(7, 0, -1)]
    assert len(week) == 7 * 40
    campaigns = all_rows(client, "SELECT campaign.id, campaign.status FROM campaign")
    enabled = {c["campaign"]["id"] for c in campaigns if c["campaign"]["status"] == "ENABLED"}
    assert 0 < len(enabled) < 40
    filtered = all_rows(client, "SELECT campaign.id, segments.date FROM campaign WHERE "
                                "segments.date DURING YESTERDAY AND campaign.status = 'ENABLED'")
    assert {r["campaign"]["id"] for r in filtered} == enabled and len(filtered) == len(enabled)
    others = all_rows(client, "SELECT campaign.id FROM campaign WHERE campaign.status IN "
                              "('PAUSED', 'REMOVED') ORDER BY campaign.id DESC LIMIT 3")
    ids = [int(r["campaign"]["id"]) for r in others]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert not {str(i) for i in ids} & enabled
    busy = all_rows(client, "SELECT campaign.id, metrics.clicks FROM campaign WHERE segments.date "
                            "= '2024-03-01' AND metrics.clicks > 100 ORDER BY metrics.clicks DESC")
    clicks = [int(r["metrics"]["clicks"]) for r in busy]
    assert clicks == sorted(clicks, reverse=True) and all(c > 100 for c in clicks)


def test_ad_groups_and_customer_totals(box: ProviderSandbox, client: httpx.Client) -> None:
    groups = all_rows(client, "SELECT ad_group.id, ad_group.campaign, campaign.id FROM ad_group")
    assert len(groups) == 200 and len({g["adGroup"]["id"] for g in groups}) == 200
    assert all(g["adGroup"]["campaign"] == g["campaign"]["resourceName"] for g in groups)
    window = "WHERE segments.date BETWEEN '2024-05-01' AND '2024-05-03'"
    per_campaign = all_rows(client, f"SELECT campaign.id, segments.date, metrics.clicks "
                                    f"FROM campaign {window}")
    totals = all_rows(client, f"SELECT customer.id, segments.date, metrics.clicks "
                              f"FROM customer {window}")
    assert [t["segments"]["date"] for t in totals] == ["2024-05-01", "2024-05-02", "2024-05-03"]
    for total in totals:
        day = total["segments"]["date"]
        expected = sum(int(r["metrics"]["clicks"]) for r in per_campaign
                       if r["segments"]["date"] == day)
        assert int(total["metrics"]["clicks"]) == expected
    assert totals[0]["customer"] == {"resourceName": "customers/1234567890", "id": "1234567890"}


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT campaign.foo FROM campaign", "UNRECOGNIZED_FIELD"),
    ("SELECT campaign.id FROM change_statusx", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
    ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
    ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
    ("SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLE'", "BAD_ENUM_CONSTANT"),
    ("SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_9_DAYS",
     "INVALID_VALUE_WITH_DURING_OPERATOR"),
    ("SELECT campaign.id FROM campaign LIMIT x", "BAD_LIMIT_VALUE"),
    ("campaign.id FROM campaign", "EXPECTED_SELECT"),
    ("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2024-02-01' AND '2024-01-01'",
     "DATE_RANGE_TOO_NARROW"),
])
def test_gaql_errors(box: ProviderSandbox, client: httpx.Client, query: str, code: str) -> None:
    answer = search(client, query)
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    error = failure(answer)
    assert error["errorCode"] == {"queryError": code} and error["message"]


def test_request_shape_errors(box: ProviderSandbox, client: httpx.Client) -> None:
    sized = search(client, "SELECT campaign.id FROM campaign", pageSize=100)
    assert failure(sized)["errorCode"] == {"requestError": "PAGE_SIZE_NOT_SUPPORTED"}
    unknown = search(client, "SELECT campaign.id FROM campaign", pageSzie=100).json()["error"]
    assert unknown["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert 'Unknown name "pageSzie"' in unknown["message"]
    bogus = search(client, "SELECT campaign.id FROM campaign", pageToken="bm9wZQ")
    assert failure(bogus)["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}
    for path in ("/v99/customers:listAccessibleCustomers", "/v17/customers:listAccessibleCustomers",
                 f"/v20/customers/{CUSTOMER}/googleAds:fetch", "/favicon.ico"):
        missing = client.get(path, headers=HEADERS)
        assert missing.status_code == 404 and "Error 404 (Not Found)" in missing.text
    for version in ("v18", "v26"):
        ok = search(client, "SELECT campaign.id FROM campaign", version=version)
        assert ok.status_code == 200


def test_credential_and_header_errors(box: ProviderSandbox, client: httpx.Client) -> None:
    query = "SELECT campaign.id FROM campaign"
    bare = search(client, query, headers={"developer-token": "sandbox-developer-token"})
    assert bare.status_code == 401 and bare.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "details" not in bare.json()["error"]
    wrong = search(client, query, headers={**HEADERS, "Authorization": "Bearer ya29.nope"})
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["www-authenticate"]
    no_dev = search(client, query, headers={"Authorization": "Bearer sandbox"})
    assert failure(no_dev)["errorCode"] == {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}
    bad_dev = {**HEADERS, "developer-token": "nope"}
    assert failure(search(client, query, headers=bad_dev))["errorCode"] == {
        "authenticationError": "DEVELOPER_TOKEN_INVALID"}
    old = search(client, query, version="v18", headers=bad_dev)
    assert old.status_code == 403
    assert old.json()["error"]["details"][0]["errors"][0]["errorCode"] == {
        "authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"}
    hyphens = search(client, query, headers={**HEADERS, "login-customer-id": "123-456-7890"})
    assert failure(hyphens)["errorCode"] == {"headerError": "INVALID_LOGIN_CUSTOMER_ID"}
    assert search(client, query, headers={**HEADERS, "login-customer-id": "9876543210"}
                  ).status_code == 200
    stranger = search(client, query, customer="1111111111")
    assert stranger.status_code == 403
    assert failure(stranger)["errorCode"] == {"authorizationError": "USER_PERMISSION_DENIED"}
    dashed = search(client, query, customer="123-456-7890")
    assert failure(dashed)["errorCode"] == {"requestError": "INVALID_CUSTOMER_ID"}


def test_daily_quota_and_faults(box: ProviderSandbox, client: httpx.Client) -> None:
    google_ads.quota(box)["daily_operations"] = 3
    query = "SELECT campaign.id FROM campaign"
    for _ in range(3):
        assert search(client, query).status_code == 200
    spent = search(client, query)
    assert spent.status_code == 429 and spent.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    error = failure(spent)
    assert error["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"}
    details = error["details"]["quotaErrorDetails"]
    assert details["rateScope"] == "DEVELOPER" and 0 < int(details["retryDelay"][:-1]) <= 86_401
    box.set_faults(Faults(rate_429=1.0, retry_after_s=9))
    burst = search(client, query)
    assert burst.status_code == 429
    assert failure(burst)["errorCode"] == {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}
    assert failure(burst)["details"]["quotaErrorDetails"]["retryDelay"] == "9s"
    box.set_faults(Faults(rate_5xx=1.0))
    down = search(client, query)
    assert down.status_code == 503 and down.json() == {"error": {
        "code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}


def _consent(client: httpx.Client, verifier: str, **extra: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    redirect = client.get("/o/oauth2/v2/auth", params={
        "client_id": "sandbox-client", "redirect_uri": "http://localhost/cb",
        "response_type": "code", "scope": google_ads.SCOPE, "state": "st",
        "code_challenge": challenge.decode(), "code_challenge_method": "S256", **extra})
    assert redirect.status_code == 302
    query = parse_qs(urlparse(redirect.headers["location"]).query)
    assert query["state"] == ["st"]
    return query["code"][0]


def _exchange(client: httpx.Client, code: str, verifier: str) -> httpx.Response:
    return client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": "http://localhost/cb", "client_id": "sandbox-client",
        "client_secret": "sandbox-secret"})


def test_oauth_pkce_expiry_and_refresh(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(token_expiry_calls=1))
    verifier = "x" * 64
    bad = _exchange(client, _consent(client, verifier, access_type="offline"), "y" * 64)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    first = _exchange(client, _consent(client, verifier, access_type="offline",
                                       prompt="consent"), verifier).json()
    assert first["expires_in"] == 3599 and first["token_type"] == "Bearer"
    assert first["access_token"].startswith("ya29.") and first["refresh_token"].startswith("1//0")
    headers = {**HEADERS, "Authorization": f"Bearer {first['access_token']}"}
    assert search(client, "SELECT campaign.id FROM campaign", headers=headers).status_code == 200
    expired = search(client, "SELECT campaign.id FROM campaign", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["details"][0]["errors"][0]["errorCode"] == {
        "authenticationError": "OAUTH_TOKEN_EXPIRED"}
    refreshed = client.post("/token", auth=("sandbox-client", "sandbox-secret"), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).json()
    assert "refresh_token" not in refreshed and refreshed["expires_in"] == 3599
    headers["Authorization"] = f"Bearer {refreshed['access_token']}"
    assert search(client, "SELECT campaign.id FROM campaign", headers=headers).status_code == 200
    again = _exchange(client, _consent(client, verifier, access_type="offline"), verifier).json()
    assert "refresh_token" not in again, "refresh tokens come with the first consent only"
    forced = _exchange(client, _consent(client, verifier, access_type="offline",
                                        prompt="consent"), verifier).json()
    assert forced["refresh_token"].startswith("1//0")
    wrong = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "1//0x",
                                        "client_id": "sandbox-client",
                                        "client_secret": "sandbox-secret"})
    assert wrong.json() == {"error": "invalid_grant",
                            "error_description": "Token has been expired or revoked."}


def _mutate(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post(f"/v20/customers/{CUSTOMER}/campaigns:mutate", headers=HEADERS, json=body)


def test_campaign_mutates_then_read_back(box: ProviderSandbox, client: httpx.Client) -> None:
    taken = all_rows(client, "SELECT campaign.name FROM campaign LIMIT 1")[0]["campaign"]["name"]
    ops = [{"create": {"name": "Spring sale", "status": "PAUSED"}},
           {"create": {"name": taken}}]
    rejected = _mutate(client, operations=ops)
    assert rejected.status_code == 400
    error = failure(rejected)
    assert error["errorCode"] == {"campaignError": "DUPLICATE_CAMPAIGN_NAME"}
    assert error["location"]["fieldPathElements"] == [
        {"fieldName": "operations", "index": 1}, {"fieldName": "create"}, {"fieldName": "name"}]
    assert len(all_rows(client, "SELECT campaign.id FROM campaign")) == 40, "nothing applied"
    partial = _mutate(client, operations=ops, partialFailure=True).json()
    assert partial["results"][1] == {} and partial["partialFailureError"]["code"] == 3
    created = partial["results"][0]["resourceName"]
    new_id = created.rsplit("/", 1)[1]
    read = all_rows(client, f"SELECT campaign.name, campaign.status FROM campaign "
                            f"WHERE campaign.id = {new_id}")
    assert read == [{"campaign": {"resourceName": created, "name": "Spring sale",
                                  "status": "PAUSED"}}]
    first = f"customers/{CUSTOMER}/campaigns/21000000000"
    changed = _mutate(client, operations=[
        {"update": {"resourceName": created, "name": "Summer sale", "status": "ENABLED"},
         "updateMask": "name,status"},
        {"remove": first}]).json()
    assert [r["resourceName"] for r in changed["results"]] == [created, first]
    rows = all_rows(client, "SELECT campaign.id, campaign.name, campaign.status FROM campaign")
    assert len(rows) == 41
    by_id = {r["campaign"]["id"]: r["campaign"] for r in rows}
    assert (by_id[new_id]["name"], by_id[new_id]["status"]) == ("Summer sale", "ENABLED")
    assert by_id["21000000000"]["status"] == "REMOVED"
    missing = _mutate(client, operations=[{"remove": f"customers/{CUSTOMER}/campaigns/5"}])
    assert failure(missing)["errorCode"] == {"mutateError": "RESOURCE_NOT_FOUND"}
    too_many = _mutate(client, operations=[{"remove": first}] * 10_001)
    assert failure(too_many)["errorCode"] == {"requestError": "TOO_MANY_MUTATE_OPERATIONS"}


def test_upload_click_conversions(box: ProviderSandbox, client: httpx.Client) -> None:
    def upload(conversions: list[dict[str, Any]], partial: bool = True) -> httpx.Response:
        return client.post(f"/v20/customers/{CUSTOMER}:uploadClickConversions", headers=HEADERS,
                           json={"conversions": conversions, "partialFailure": partial})

    action = f"customers/{CUSTOMER}/conversionActions/777"
    good = [{"gclid": f"Cj0KCQjw-gclid-{n}", "conversionAction": action,
             "conversionDateTime": "2024-05-01 12:00:00+00:00", "conversionValue": 10.0 * n,
             "currencyCode": "USD"} for n in range(2)]
    strict = upload(good, partial=False)
    assert failure(strict)["errorCode"] == {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}
    answer = upload([*good, {**good[0], "gclid": "??"}]).json()
    assert [r.get("gclid") for r in answer["results"]] == [g["gclid"] for g in good] + [None]
    detail = answer["partialFailureError"]["details"][0]["errors"][0]
    assert detail["errorCode"] == {"conversionUploadError": "UNPARSEABLE_GCLID"}
    assert detail["location"]["fieldPathElements"][0] == {"fieldName": "conversions", "index": 2}
    stored = box.current_dataset.overlay[f"conversions:{CUSTOMER}"]
    assert sorted(v["gclid"] for v in stored.values()) == [g["gclid"] for g in good]
    again = upload(good[:1]).json()["partialFailureError"]["details"][0]["errors"][0]
    assert again["errorCode"] == {"conversionUploadError": "CLICK_CONVERSION_ALREADY_EXISTS"}
    flood = upload([good[0]] * 2_001)
    assert failure(flood)["errorCode"] == {
        "conversionUploadError": "TOO_MANY_CONVERSIONS_IN_REQUEST"}


def test_mid_sync_change_and_lazy_million(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(mutate_after_calls=2))
    query = "SELECT campaign.name FROM campaign LIMIT 1"
    before = all_rows(client, query)[0]["campaign"]["name"]
    assert all_rows(client, query)[0]["campaign"]["name"] == before + " (edited)"
    box.counts_override = {"campaigns": 1_000_000}
    box.reset()
    page = search(client, "SELECT campaign.id FROM campaign", returnTotalResultsCount=True).json()
    assert page["totalResultsCount"] == "1000000" and len(page["results"]) == 10_000
    last = search(client, "SELECT campaign.id FROM campaign",
                  pageToken=_token_for(page["nextPageToken"], 999_990)).json()
    assert [r["campaign"]["id"] for r in last["results"]] == [
        str(21_000_000_000 + i) for i in range(999_990, 1_000_000)]


def _token_for(token: str, offset: int) -> str:
    """Tokens are opaque to clients; this test rewrites one to jump to the last page."""
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return base64.urlsafe_b64encode(json.dumps({**raw, "o": offset}).encode()).decode().rstrip("=")


def test_lead_form_webhook(box: ProviderSandbox, client: httpx.Client,
                           receiver: Receiver) -> None:
    headers, raw = google_ads.webhook_delivery(box, "https://leads.example/hook",
                                               {"is_test": False})
    lead = json.loads(raw)
    assert headers == {"Content-Type": "application/json"}
    assert {"lead_id", "user_column_data", "api_version", "form_id", "campaign_id", "google_key",
            "is_test", "gcl_id", "adgroup_id", "creative_id"} <= set(lead)
    assert lead["is_test"] is False and isinstance(lead["form_id"], int)
    assert google_ads.google_key_matches(box.webhook_secret, lead["google_key"])
    assert not google_ads.google_key_matches(box.webhook_secret, "guess")
    sent = client.post("/_sandbox/webhooks/deliver", json={
        "url": f"{receiver.url}/leads", "payload": {}}).json()
    assert sent["status_code"] == 200
    delivered = json.loads(receiver.calls[-1].body)
    assert delivered["google_key"] == box.webhook_secret
    assert date.fromisoformat(delivered["lead_submit_time"][:10])
