"""Facebook Ads simulator: Graph paging, filters, insights, BUC limits, OAuth, batch, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.sandbox import facebook_ads
from connectors.sandbox.kit import EPOCH, Faults, ProviderSandbox
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Received, Receiver

ACT = "act_100000000000001"
TOKEN = {"access_token": facebook_ads.DEMO_TOKEN}


@pytest.fixture
def box(sandbox: SandboxServer) -> Iterator[ProviderSandbox]:
    fb_box = sandbox.sandboxes["facebook_ads"]
    yield fb_box
    fb_box.counts_override = {}
    fb_box.reset()


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/facebook_ads", timeout=10) as http:
        yield http


def get(client: httpx.Client, path: str, **params: Any) -> httpx.Response:
    return client.get(f"/v21.0/{path}", params={**TOKEN, **params})


def walk(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of an edge, following ``paging.next`` URLs exactly as served."""
    body = get(client, path, **params).json()
    items = list(body["data"])
    while "next" in body.get("paging", {}):
        body = client.get(body["paging"]["next"]).json()
        items.extend(body["data"])
    return items


def error_of(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert error["fbtrace_id"] and error["type"]
    return error  # type: ignore[no-any-return]


def test_me_and_ad_accounts(box: ProviderSandbox, client: httpx.Client) -> None:
    me = get(client, "me")
    assert me.json() == {"name": "Sandbox Marketer", "id": "10000000000000001"}
    assert json.loads(me.headers["X-App-Usage"])["call_count"] == 0
    accounts = get(client, "me/adaccounts", fields="name,currency").json()["data"]
    assert [a["id"] for a in accounts] == [ACT, "act_100000000000002"]
    assert accounts[0] == {"id": ACT, "name": "Sandbox Outdoor Gear", "currency": "USD"}
    bearer = client.get("/v21.0/me", headers={"Authorization": "Bearer sandbox"})
    assert bearer.json()["id"] == "10000000000000001"


def test_campaign_cursor_paging(sandbox: SandboxServer, box: ProviderSandbox,
                                client: httpx.Client) -> None:
    first = get(client, f"{ACT}/campaigns", fields="name,status").json()
    assert len(first["data"]) == 25 and "previous" not in first["paging"]
    assert first["paging"]["next"].startswith(
        f"{sandbox.url}/facebook_ads/v21.0/{ACT}/campaigns?")
    link = parse_qs(urlparse(first["paging"]["next"]).query)
    assert link["access_token"] == ["sandbox"] and link["after"] == [
        first["paging"]["cursors"]["after"]]
    campaigns = walk(client, f"{ACT}/campaigns", fields="name,status,updated_time")
    ids = [c["id"] for c in campaigns]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert campaigns[0]["updated_time"] == "2024-01-01T00:00:00+0000"
    second = client.get(first["paging"]["next"]).json()
    back = client.get(second["paging"]["previous"]).json()
    assert back["data"] == first["data"]
    assert len(get(client, f"{ACT}/campaigns", limit=9000).json()["data"]) == 60
    other = walk(client, "act_100000000000002/campaigns")
    assert len(other) == 60 and not {c["id"] for c in other} & set(ids)
    adsets = walk(client, f"{ACT}/adsets", fields="campaign_id,effective_status", limit=50)
    assert len(adsets) == 180 and {a["campaign_id"] for a in adsets} == set(ids)
    bad = get(client, f"{ACT}/campaigns", after="!!")
    assert bad.status_code == 400 and error_of(bad)["code"] == 100


def test_page_size_is_capped(box: ProviderSandbox, client: httpx.Client) -> None:
    box.counts_override = {"campaigns": 6000}
    box.reset()
    page = get(client, f"{ACT}/campaigns", limit=7000).json()
    assert len(page["data"]) == 5000
    assert parse_qs(urlparse(page["paging"]["next"]).query)["limit"] == ["5000"]
    rest = client.get(page["paging"]["next"]).json()
    assert len(rest["data"]) == 1000 and "next" not in rest["paging"]


def test_status_filters_and_fields(box: ProviderSandbox, client: httpx.Client) -> None:
    everything = walk(client, f"{ACT}/campaigns", fields="effective_status", limit=100)
    paused = walk(client, f"{ACT}/campaigns", fields="effective_status",
                  effective_status='["PAUSED"]')
    assert paused and all(c["effective_status"] == "PAUSED" for c in paused)
    assert len(paused) == sum(c["effective_status"] == "PAUSED" for c in everything)
    first_page = get(client, f"{ACT}/campaigns", effective_status='["ACTIVE"]', limit=5).json()
    assert len(first_page["data"]) == 5, "filtered pages stay full"
    unknown = get(client, f"{ACT}/campaigns", fields="name,colour")
    assert error_of(unknown)["message"] == (
        "(#100) Tried accessing nonexisting field (colour) on node type (Campaign)")
    wrong = get(client, f"{ACT}/campaigns", effective_status='["SLEEPING"]')
    assert error_of(wrong)["code"] == 100 and "effective_status[0]" in error_of(wrong)["message"]
    for value in (None, "yesterday"):  # once an unhandled exception, i.e. an HTTP 500
        odd = get(client, f"{ACT}/campaigns", filtering=json.dumps(
            [{"field": "updated_time", "operator": "GREATER_THAN", "value": value}]))
        assert odd.status_code == 400 and error_of(odd)["code"] == 100


def test_writes_and_updated_time_delta(box: ProviderSandbox, client: httpx.Client) -> None:
    since = EPOCH + 30 * 60
    late = walk(client, f"{ACT}/campaigns", filtering=json.dumps(
        [{"field": "updated_time", "operator": "GREATER_THAN", "value": since}]))
    assert len(late) == 29, "campaigns 31..59 were updated after the mark"
    missing = client.post(f"/v21.0/{ACT}/campaigns", data={**TOKEN, "name": "No categories",
                                                          "objective": "OUTCOME_SALES"})
    assert error_of(missing)["message"] == "(#100) The parameter special_ad_categories is required"
    created = client.post(f"/v21.0/{ACT}/campaigns", data={
        **TOKEN, "name": "Launch", "objective": "OUTCOME_TRAFFIC", "status": "PAUSED",
        "special_ad_categories": "[]"}).json()
    base = get(client, f"{ACT}/campaigns", fields="name").json()["data"]
    renamed, doomed = base[5]["id"], base[7]["id"]
    assert client.post(f"/v21.0/{renamed}", data={**TOKEN, "name": "Renamed"}).json() == {
        "success": True}
    assert client.delete(f"/v21.0/{doomed}", params=TOKEN).json() == {"success": True}
    mark = int(time.time()) - 5
    delta = walk(client, f"{ACT}/campaigns", fields="name,effective_status,updated_time",
                 filtering=json.dumps([
                     {"field": "updated_time", "operator": "GREATER_THAN", "value": mark},
                     {"field": "effective_status", "operator": "IN",
                      "value": ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"]}]))
    assert {c["id"] for c in delta} == {created["id"], renamed, doomed}
    by_id = {c["id"]: c for c in delta}
    assert by_id[doomed]["effective_status"] == "DELETED" and by_id[renamed]["name"] == "Renamed"
    stamp = datetime.strptime(by_id[renamed]["updated_time"], "%Y-%m-%dT%H:%M:%S%z")
    assert stamp.timestamp() >= mark
    listed = walk(client, f"{ACT}/campaigns")
    assert len(listed) == 60 and doomed not in {c["id"] for c in listed}
    node = get(client, created["id"], fields="name,status,objective").json()
    assert node == {"id": created["id"], "name": "Launch", "status": "PAUSED",
                    "objective": "OUTCOME_TRAFFIC"}


def test_insights_rows_and_errors(box: ProviderSandbox, client: httpx.Client) -> None:
    window = json.dumps({"since": "2024-05-01", "until": "2024-05-10"})
    rows = walk(client, f"{ACT}/insights", level="campaign", time_range=window,
                time_increment="1", fields="campaign_id,impressions,clicks,spend,actions",
                limit=100)
    assert len(rows) == 600
    assert len({(r["campaign_id"], r["date_start"]) for r in rows}) == 600
    assert all(r["date_start"] == r["date_stop"] for r in rows)
    assert isinstance(rows[0]["impressions"], str) and "." in rows[0]["spend"]
    assert rows[0]["actions"][0]["action_type"] == "link_click"
    total = get(client, f"{ACT}/insights", time_range=window, fields="impressions").json()
    assert total["data"] == [{"impressions": str(sum(int(r["impressions"]) for r in rows)),
                              "date_start": "2024-05-01", "date_stop": "2024-05-10"}]
    one = rows[0]["campaign_id"]
    mine = walk(client, f"{one}/insights", time_range=window, time_increment="5")
    assert [(r["date_start"], r["date_stop"]) for r in mine] == [
        ("2024-05-01", "2024-05-05"), ("2024-05-06", "2024-05-10")]
    today = datetime.now(UTC).date()
    week = get(client, f"{ACT}/insights", date_preset="last_7d").json()["data"][0]
    assert (week["date_start"], week["date_stop"]) == (
        (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat())
    assert error_of(get(client, f"{ACT}/insights", level="region"))["code"] == 100
    assert error_of(get(client, f"{ACT}/insights", fields="roas"))["code"] == 100
    backwards = json.dumps({"since": "2024-05-10", "until": "2024-05-01"})
    assert error_of(get(client, f"{ACT}/insights", time_range=backwards))["code"] == 100
    ancient = json.dumps({"since": (date.today() - timedelta(days=1200)).isoformat(),
                          "until": date.today().isoformat()})
    assert error_of(get(client, f"{ACT}/insights", time_range=ancient))["code"] == 3018


def test_business_use_case_throttling(box: ProviderSandbox, client: httpx.Client) -> None:
    knobs = facebook_ads.limits(box)
    knobs.update(ads_management=3, ads_insights=1)
    counts = []
    for _ in range(3):
        answer = get(client, f"{ACT}/campaigns")
        assert answer.status_code == 200
        usage = json.loads(answer.headers["X-Business-Use-Case-Usage"])["100000000000001"][0]
        counts.append((usage["type"], usage["call_count"]))
    assert counts == [("ads_management", 33), ("ads_management", 66), ("ads_management", 100)]
    over = get(client, f"{ACT}/campaigns")
    assert over.status_code == 400
    error = error_of(over)
    assert (error["code"], error["error_subcode"]) == (80004, 2446079)
    usage = json.loads(over.headers["X-Business-Use-Case-Usage"])["100000000000001"][0]
    assert usage["estimated_time_to_regain_access"] == 60
    assert get(client, "act_100000000000002/campaigns").status_code == 200, "per ad account"
    assert get(client, f"{ACT}/insights").status_code == 200
    insights = get(client, f"{ACT}/insights")
    assert error_of(insights)["code"] == 80000
    assert json.loads(insights.headers["X-FB-Ads-Insights-Throttle"])["acc_id_util_pct"] == 100
    knobs["app_calls"] = 0
    app = get(client, "me")
    assert (error_of(app)["code"], error_of(app)["is_transient"]) == (4, True)


def test_fault_bodies(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(rate_429=1.0))
    limited = get(client, f"{ACT}/campaigns")
    assert limited.status_code == 400
    error = error_of(limited)
    assert (error["code"], error["message"], error["is_transient"]) == (
        17, "(#17) User request limit reached", True)
    box.set_faults(Faults(rate_5xx=1.0))
    broken = get(client, f"{ACT}/campaigns")
    assert broken.status_code == 500
    assert (error_of(broken)["code"], error_of(broken)["is_transient"]) == (2, True)


def test_credentials_and_appsecret_proof(box: ProviderSandbox, client: httpx.Client) -> None:
    bare = client.get(f"/v21.0/{ACT}/campaigns")
    assert (bare.status_code, error_of(bare)["code"]) == (400, 104)
    assert error_of(client.get("/v21.0/me"))["code"] == 2500
    bad = client.get("/v21.0/me", params={"access_token": "EAABnope"})
    assert error_of(bad) | {"fbtrace_id": "x"} == {
        "message": "Invalid OAuth access token - Cannot parse access token",
        "type": "OAuthException", "code": 190, "fbtrace_id": "x"}
    assert "invalid_token" in bad.headers["www-authenticate"]
    proof = hmac.new(b"sandbox-secret", b"sandbox", hashlib.sha256).hexdigest()
    assert get(client, "me", appsecret_proof=proof).status_code == 200
    wrong = get(client, "me", appsecret_proof="0" * 64)
    assert error_of(wrong) | {"fbtrace_id": "x"} == {
        "message": "Invalid appsecret_proof provided in the API argument",
        "type": "GraphMethodException", "code": 100, "fbtrace_id": "x"}
    box.state_as(facebook_ads.FacebookAdsState).require_proof = True
    assert error_of(get(client, "me"))["code"] == 100
    assert get(client, "me", appsecret_proof=proof).status_code == 200
    assert facebook_ads.appsecret_proof("sandbox-secret", "sandbox") == proof


def _login(client: httpx.Client, scope: str) -> str:
    redirect = client.get("/v21.0/dialog/oauth", params={
        "client_id": "sandbox-client", "redirect_uri": "https://app.example/fb", "state": "q",
        "scope": scope, "response_type": "code"})
    assert redirect.status_code == 302 and redirect.headers["location"].endswith("#_=_")
    query = parse_qs(urlparse(redirect.headers["location"]).query)
    assert query["state"] == ["q"]
    answer = client.get("/v21.0/oauth/access_token", params={
        "client_id": "sandbox-client", "client_secret": "sandbox-secret",
        "redirect_uri": "https://app.example/fb", "code": query["code"][0]}).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 5400
    return answer["access_token"]  # type: ignore[no-any-return]


def test_oauth_expiry_exchange_and_scopes(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(token_expiry_calls=2))
    token = _login(client, "ads_read")
    app_token = {"access_token": "sandbox-client|sandbox-secret"}
    for _ in range(2):
        assert client.get("/v21.0/me", params={"access_token": token}).status_code == 200
    expired = client.get("/v21.0/me", params={"access_token": token})
    assert (error_of(expired)["code"], error_of(expired)["error_subcode"]) == (190, 463)
    debug = client.get("/debug_token", params={**app_token, "input_token": token}).json()["data"]
    assert debug["is_valid"] is False and debug["scopes"] == ["ads_read"]
    reader = _login(client, "ads_read")
    longer = client.get("/v21.0/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": "sandbox-client",
        "client_secret": "sandbox-secret", "fb_exchange_token": reader}).json()
    assert longer["expires_in"] == 5_183_944
    lived = client.get("/debug_token", params={**app_token, "input_token": longer["access_token"]})
    assert lived.json()["data"]["expires_at"] >= int(time.time()) + 5_183_000
    denied = client.post(f"/v21.0/{ACT}/campaigns", data={
        "access_token": longer["access_token"], "name": "x", "objective": "OUTCOME_SALES",
        "special_ad_categories": "[]"})
    assert (denied.status_code, error_of(denied)["code"]) == (403, 200)
    secretless = client.get("/v21.0/oauth/access_token", params={
        "client_id": "sandbox-client", "client_secret": "nope", "code": "x"})
    assert error_of(secretless)["message"] == "Error validating client secret."


def test_graph_batch(box: ProviderSandbox, client: httpx.Client) -> None:
    requests = [{"method": "GET", "relative_url": "me"},
                {"method": "GET", "relative_url": f"v21.0/{ACT}/campaigns?fields=name&limit=2"},
                {"method": "POST", "relative_url": f"{ACT}/campaigns",
                 "body": "name=Batched&objective=OUTCOME_LEADS&special_ad_categories=[]"}]
    answers = client.post("/v21.0/", data={**TOKEN, "batch": json.dumps(requests)}).json()
    assert [a["code"] for a in answers] == [200, 200, 200]
    assert json.loads(answers[0]["body"])["name"] == "Sandbox Marketer"
    assert len(json.loads(answers[1]["body"])["data"]) == 2
    created = json.loads(answers[2]["body"])["id"]
    assert get(client, created, fields="name").json()["name"] == "Batched"
    facebook_ads.limits(box)["ads_management"] = 6  # three calls on this account so far
    counted = client.post("/v21.0/", data={**TOKEN, "batch": json.dumps(requests[1:] * 2)}).json()
    assert [a["code"] for a in counted] == [200, 200, 200, 400], "each sub-request counts"
    assert json.loads(counted[3]["body"])["error"]["code"] == 80004
    too_many = client.post("/v21.0/", data={**TOKEN, "batch": json.dumps(requests[:1] * 51)})
    assert error_of(too_many)["message"] == (
        "(#100) Too many requests in batch message. Maximum batch size is 50")


def test_versions_and_unknown_nodes(box: ProviderSandbox, client: httpx.Client) -> None:
    assert error_of(client.get("/v18.0/me", params=TOKEN))["code"] == 2635
    assert error_of(client.get("/v99.0/me", params=TOKEN))["code"] == 2500
    assert client.get("/me", params=TOKEN).json()["id"] == "10000000000000001"
    assert client.get("/v26.0/me", params=TOKEN).status_code == 200
    ghost = get(client, "act_999")
    assert (error_of(ghost)["code"], error_of(ghost)["error_subcode"]) == (100, 33)
    assert error_of(get(client, f"{ACT}/ads_volume"))["code"] == 2500
    assert error_of(get(client, "12345"))["type"] == "GraphMethodException"
    assert box.requests[-1]["path"] == "/facebook_ads/v21.0/12345"
    garbled = client.post(f"/v21.0/{ACT}/campaigns", content=b"{oops",
                          headers={"Content-Type": "application/json"})
    assert (garbled.status_code, error_of(garbled)["code"]) == (400, 100)


def test_mid_sync_change_visible(box: ProviderSandbox, client: httpx.Client) -> None:
    box.set_faults(Faults(mutate_after_calls=1))
    first = get(client, f"{ACT}/campaigns", fields="name,updated_time").json()["data"][0]
    assert first["name"].endswith(" (edited)")
    assert first["updated_time"] > "2025"


def test_webhook_signature_is_independently_verifiable(box: ProviderSandbox) -> None:
    headers, body = facebook_ads.webhook_delivery(box, "https://hooks.example/fb",
                                                  {"field": "with_issues_ad_objects", "id": "1"})
    expected = hmac.new(box.client_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    legacy = hmac.new(box.client_secret.encode(), body, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha1={legacy}"
    note = json.loads(body)
    assert note["object"] == "ad_account"
    assert note["entry"][0]["changes"] == [{"field": "with_issues_ad_objects",
                                            "value": {"id": "1"}}]
    assert facebook_ads.sign("k", b"{}") == "sha256=" + hmac.new(
        b"k", b"{}", hashlib.sha256).hexdigest()
    assert facebook_ads.sign("k", b"{} ") != facebook_ads.sign("k", b"{}")


def _subscription_check(call: Received) -> tuple[int, dict[str, str], bytes]:
    """A callback URL as Meta expects it: GET echoes hub.challenge for the right verify token."""
    if call.method != "GET":
        return 200, {}, b""
    query = parse_qs(urlparse(call.path).query)
    good = query.get("hub.mode") == ["subscribe"] and query.get("hub.verify_token") == ["vt"]
    return (200, {}, query["hub.challenge"][0].encode()) if good else (403, {}, b"forbidden")


def test_verification_handshake_and_delivery(box: ProviderSandbox, client: httpx.Client,
                                             receiver: Receiver) -> None:
    receiver.reply = _subscription_check
    url = f"{receiver.url}/fb"
    good = client.post("/_sandbox/webhooks/verify", json={"url": url, "verify_token": "vt"})
    bad = client.post("/_sandbox/webhooks/verify", json={"url": url, "verify_token": "no"})
    sent = client.post("/_sandbox/webhooks/deliver", json={"url": url, "payload": {"a": 1}})
    assert good.json() == {"verified": True, "status_code": 200}
    assert bad.json() == {"verified": False, "status_code": 403}
    assert sent.json()["status_code"] == 200
    headers, raw = receiver.posted()[-1].headers, receiver.posted()[-1].body
    assert headers["X-Hub-Signature-256"] == facebook_ads.sign(box.client_secret, raw)
    assert facebook_ads.handshake_params("vt", "42") == {
        "hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "vt"}
