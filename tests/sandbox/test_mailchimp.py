"""The Mailchimp simulator against Mailchimp's Marketing API 3.0 wire format (and its SDK)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import mailchimp_marketing
import pytest
from mailchimp_marketing.api_client import ApiClientError

from connectors.sandbox.kit import Faults
from connectors.sandbox.mailchimp import DEMO_TOKEN, MailchimpState, webhook_delivery
from connectors.sandbox.mailchimp.data import LISTS
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Receiver

NEWS, CUSTOMERS, BETA = (spec[0] for spec in LISTS)
KEY = ("anystring", DEMO_TOKEN)
SMALL = {NEWS: 2345, CUSTOMERS: 40, BETA: 0}


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


@pytest.fixture
def box(sandbox: SandboxServer) -> Any:
    return sandbox.sandboxes["mailchimp"]


@pytest.fixture
def mc(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """``https://us1.api.mailchimp.com/3.0`` as the sandbox serves it."""
    with httpx.Client(base_url=sandbox.url + "/mailchimp/us1/3.0", auth=KEY) as client:
        yield client


@pytest.fixture
def small(box: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(box, "counts_override", dict(SMALL))
    box.reset()


def assert_problem(response: httpx.Response, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://mailchimp.com/developer/marketing/docs/errors/"
    assert body["title"] == title and body["status"] == status and body["detail"]
    assert body["instance"] == response.headers["X-Request-Id"]
    return body


def test_auth_forms_datacenters_and_errors(sandbox: SandboxServer, mc: httpx.Client) -> None:
    root = sandbox.url + "/mailchimp"
    assert mc.get("/ping").json() == {"health_status": "Everything's Chimpy!"}
    assert httpx.get(root + "/3.0/", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) \
        .json()["role"] == "owner"
    assert httpx.get(root + "/3.0/ping", headers={"Authorization": f"OAuth {DEMO_TOKEN}"}) \
        .status_code == 200
    assert_problem(httpx.get(root + "/us1/3.0/ping"), 401, "API Key Missing")
    invalid = assert_problem(httpx.get(root + "/us1/3.0/ping", auth=("x", "0" * 32 + "-us1")),
                             401, "API Key Invalid")
    assert invalid["detail"] == ("Your API key may be invalid, or you've attempted to access "
                                 "the wrong datacenter.")
    assert_problem(httpx.get(root + "/us6/3.0/ping", auth=KEY), 403, "Wrong Datacenter")
    assert_problem(mc.get("/campaigns"), 404, "Resource Not Found")
    assert_problem(mc.get(f"/lists/{'f' * 10}/members"), 404, "Resource Not Found")
    not_allowed = assert_problem(mc.put("/lists"), 405, "Method Not Allowed")
    assert not_allowed and mc.put("/lists").headers["Allow"] == "GET"


def test_lists_with_stats_and_partial_response(mc: httpx.Client) -> None:
    body = mc.get("/lists", params={"fields": "lists.id,lists.stats.member_count,total_items"})
    assert body.json() == {"lists": [{"id": NEWS, "stats": {"member_count": 3200}},
                                     {"id": CUSTOMERS, "stats": {"member_count": 1200}},
                                     {"id": BETA, "stats": {"member_count": 400}}],
                           "total_items": 3}
    one = mc.get(f"/lists/{CUSTOMERS}", params={"exclude_fields": "_links,contact"}).json()
    assert one["name"] == "Customers" and "_links" not in one and "contact" not in one
    assert one["stats"]["unsubscribe_count"] == 150 and one["stats"]["cleaned_count"] == 75


def test_members_page_by_offset_to_the_last(small: None, mc: httpx.Client) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = mc.get(f"/lists/{NEWS}/members", params={"count": 1000, "offset": offset}).json()
        assert page["total_items"] == 2345 and page["list_id"] == NEWS
        for member in page["members"]:
            assert member["id"] == md5(member["email_address"])
            assert member["list_id"] == NEWS
            assert member["last_changed"].endswith("+00:00")
        seen += [m["id"] for m in page["members"]]
        offset += 1000
        if offset >= page["total_items"]:
            break
    assert len(seen) == len(set(seen)) == 2345
    last = mc.get(f"/lists/{NEWS}/members", params={"count": 3, "offset": 2344}).json()
    assert [m["web_id"] for m in last["members"]] == [500_002_344]
    assert mc.get(f"/lists/{BETA}/members").json()["members"] == []


def test_count_defaults_to_10_and_is_capped_at_1000(mc: httpx.Client) -> None:
    assert len(mc.get(f"/lists/{NEWS}/members").json()["members"]) == 10
    capped = mc.get(f"/lists/{NEWS}/members", params={"count": 5000}).json()
    assert len(capped["members"]) == 1000 and capped["total_items"] == 4000
    assert_problem(mc.get(f"/lists/{NEWS}/members", params={"count": "many"}), 400,
                   "Invalid Resource")


def test_status_and_since_last_changed_filters(mc: httpx.Client) -> None:
    cleaned = mc.get(f"/lists/{CUSTOMERS}/members", params={
        "status": "cleaned", "count": 1000,
        "fields": "members.status,members.web_id,total_items"}).json()
    assert cleaned["total_items"] == 75
    assert {m["status"] for m in cleaned["members"]} == {"cleaned"}
    assert [m["web_id"] - 500_000_000 for m in cleaned["members"][:3]] == [18, 38, 58]
    since = mc.get(f"/lists/{CUSTOMERS}/members", params={
        "since_last_changed": "2024-01-01T01:40:00+00:00", "count": 2}).json()
    assert since["total_items"] == 1500 - 100
    assert since["members"][0]["last_changed"] == "2024-01-01T01:40:00+00:00"
    window = mc.get(f"/lists/{CUSTOMERS}/members", params={
        "since_last_changed": "2024-01-01T01:40:00+00:00",
        "before_last_changed": "2024-01-01T01:45:00+00:00"}).json()
    assert window["total_items"] == 5
    assert_problem(mc.get(f"/lists/{NEWS}/members", params={"status": "happy"}), 400,
                   "Invalid Resource")


def test_fields_and_exclude_fields_dot_notation(mc: httpx.Client) -> None:
    only = mc.get(f"/lists/{NEWS}/members", params={
        "count": 2, "fields": "members.email_address,members.merge_fields.FNAME,total_items"})
    body = only.json()
    assert set(body) == {"members", "total_items"}
    assert [set(m) for m in body["members"]] == [{"email_address", "merge_fields"}] * 2
    assert set(body["members"][0]["merge_fields"]) == {"FNAME"}
    lean = mc.get(f"/lists/{NEWS}/members", params={
        "count": 1, "exclude_fields": "_links,members._links,members.location"}).json()
    assert "_links" not in lean and {"_links", "location"}.isdisjoint(lean["members"][0])
    assert "email_address" in lean["members"][0]


def test_member_writes_and_read_back(mc: httpx.Client) -> None:
    email = "Grace.Hopper@Navy.example"
    put = mc.put(f"/lists/{NEWS}/members/{md5(email)}", json={
        "email_address": email, "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Grace", "LNAME": "Hopper"}})
    assert put.status_code == 200
    assert put.json()["id"] == md5(email) and put.json()["full_name"] == "Grace Hopper"
    mismatch = mc.put(f"/lists/{NEWS}/members/{md5('other@x.example')}",
                      json={"email_address": email, "status_if_new": "subscribed"})
    assert_problem(mismatch, 400, "Invalid Resource")
    exists = assert_problem(mc.post(f"/lists/{NEWS}/members",
                                    json={"email_address": email, "status": "subscribed"}),
                            400, "Member Exists")
    assert exists["detail"] == (f"{email} is already a list member. Use PUT to insert or update "
                                "list members.")
    patched = mc.patch(f"/lists/{NEWS}/members/{md5(email)}", json={"status": "unsubscribed"})
    assert patched.json()["status"] == "unsubscribed"
    got = mc.get(f"/lists/{NEWS}/members/{email}").json()  # the address works in place of hash
    assert got["status"] == "unsubscribed" and got["merge_fields"]["LNAME"] == "Hopper"
    # a generated member the client never listed, found through its address
    generated = mc.get(f"/lists/{NEWS}/members", params={"count": 1, "offset": 7}).json()
    address = generated["members"][0]["email_address"]
    upsert = mc.put(f"/lists/{NEWS}/members/{md5(address)}",
                    json={"email_address": address, "merge_fields": {"FNAME": "Renamed"}})
    assert upsert.json()["status"] == generated["members"][0]["status"]
    total = mc.get(f"/lists/{NEWS}/members", params={"count": 1}).json()["total_items"]
    assert total == 4001  # Grace is new; the renamed member was updated, not duplicated
    delta = mc.get(f"/lists/{NEWS}/members", params={
        "since_last_changed": "2025-01-01T00:00:00+00:00", "fields": "members.email_address"})
    assert [m["email_address"] for m in delta.json()["members"]] == [email, address]
    assert mc.delete(f"/lists/{NEWS}/members/{md5(email)}").status_code == 204
    assert mc.get(f"/lists/{NEWS}/members/{md5(email)}").json()["status"] == "archived"
    assert mc.get(f"/lists/{NEWS}/members", params={"count": 1}).json()["total_items"] == 4000
    assert mc.post(f"/lists/{NEWS}/members/{md5(address)}/actions/delete-permanent") \
        .status_code == 204
    assert_problem(mc.put(f"/lists/{NEWS}/members/{md5(address)}",
                          json={"email_address": address, "status_if_new": "subscribed"}),
                   400, "Forgotten Email Not Subscribed")


def test_batch_subscribe(mc: httpx.Client) -> None:
    existing = mc.get(f"/lists/{BETA}/members", params={"count": 1}).json()["members"][0]
    members = [{"email_address": "ada@new.example", "status": "subscribed"},
               {"email_address": existing["email_address"], "status": "subscribed",
                "merge_fields": {"LNAME": "Batch"}},
               {"email_address": "not-an-email", "status": "subscribed"}]
    refused = mc.post(f"/lists/{BETA}", json={"members": members}).json()
    assert (refused["total_created"], refused["total_updated"], refused["error_count"]) \
        == (1, 0, 2)
    assert [e["error_code"] for e in refused["errors"]] == ["ERROR_CONTACT_EXISTS",
                                                           "ERROR_GENERIC"]
    assert refused["errors"][1]["email_address"] == "not-an-email"
    updated = mc.post(f"/lists/{BETA}", json={"members": members[1:2],
                                              "update_existing": True}).json()
    assert updated["total_updated"] == 1
    assert updated["updated_members"][0]["merge_fields"]["LNAME"] == "Batch"
    assert mc.get(f"/lists/{BETA}/members/{existing['id']}").json()["merge_fields"]["LNAME"] \
        == "Batch"
    too_many = [{"email_address": f"u{i}@x.example", "status": "subscribed"} for i in range(501)]
    assert_problem(mc.post(f"/lists/{BETA}", json={"members": too_many}), 400,
                   "Invalid Resource")


def test_faults_render_as_mailchimp_does(box: Any, mc: httpx.Client) -> None:
    box.set_faults(Faults(rate_429=1.0, retry_after_s=9))
    limited = assert_problem(mc.get("/ping"), 429, "Too Many Requests")
    assert "10 simultaneous connections" in limited["detail"]
    assert "Retry-After" not in mc.get("/ping").headers  # Mailchimp documents none
    box.set_faults(Faults(rate_5xx=1.0))
    assert_problem(mc.get("/lists"), 500, "Internal Server Error")


async def test_eleventh_simultaneous_connection_gets_429(sandbox: SandboxServer, box: Any) -> None:
    box.set_faults(Faults(latency_ms=400))
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=sandbox.url + "/mailchimp/us1/3.0", auth=KEY,
                                 limits=limits) as client:
        replies = await asyncio.gather(*(client.get("/ping") for _ in range(11)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] * 10 + [429]
    assert box.state_as(MailchimpState).inflight.get(DEMO_TOKEN, 0) == 0


def test_oauth_token_metadata_and_expiry(sandbox: SandboxServer, box: Any) -> None:
    root = sandbox.url + "/mailchimp"
    box.set_faults(Faults(token_expiry_calls=2))
    auth = httpx.get(root + "/oauth2/authorize", params={
        "response_type": "code", "client_id": box.client_id, "redirect_uri": "http://app/cb",
        "state": "xyz"})
    assert auth.status_code == 302
    back = parse_qs(urlsplit(auth.headers["location"]).query)
    assert back["state"] == ["xyz"]
    token = httpx.post(root + "/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": box.client_id,
        "client_secret": box.client_secret, "redirect_uri": "http://app/cb",
        "code": back["code"][0]}).json()
    assert set(token) == {"access_token", "expires_in", "scope"}
    assert token["expires_in"] == 0 and token["scope"] is None
    oauth = {"Authorization": f"OAuth {token['access_token']}"}
    meta = httpx.get(root + "/oauth2/metadata", headers=oauth).json()
    assert meta["dc"] == "us1" and meta["api_endpoint"] == root + "/us1"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(meta["api_endpoint"] + "/3.0/ping", headers=bearer).status_code == 200
    assert_problem(httpx.get(meta["api_endpoint"] + "/3.0/ping", headers=bearer), 401,
                   "API Key Invalid")
    no_refresh = httpx.post(root + "/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": box.client_id,
        "client_secret": box.client_secret, "refresh_token": "anything"})
    assert no_refresh.json()["error"] == "unsupported_grant_type"
    # API keys never expire, whatever the fault says
    assert {httpx.get(root + "/us1/3.0/ping", auth=KEY).status_code for _ in range(4)} == {200}
    assert httpx.get(root + "/oauth2/metadata",
                     headers={"Authorization": f"OAuth {DEMO_TOKEN}"}).status_code == 401


def test_webhook_registration_pings_the_url(mc: httpx.Client, box: Any,
                                            receiver: Receiver) -> None:
    url = f"{receiver.url}/hooks/mailchimp?secret={box.webhook_secret}"
    made = mc.post(f"/lists/{NEWS}/webhooks", json={
        "url": url, "events": {"subscribe": True, "campaign": False}})
    assert made.status_code == 200
    hook = made.json()
    assert hook["url"] == url and hook["events"]["campaign"] is False
    ping = receiver.calls[0]
    assert (ping.method, ping.path, ping.body) == (
        "GET", f"/hooks/mailchimp?secret={box.webhook_secret}", b"")
    assert ping.headers["User-Agent"] == "MailChimp.com WebHook Validator"
    listed = mc.get(f"/lists/{NEWS}/webhooks").json()
    assert listed["total_items"] == 1 and listed["webhooks"][0]["id"] == hook["id"]
    assert mc.delete(f"/lists/{NEWS}/webhooks/{hook['id']}").status_code == 204
    receiver.status = 404  # the URL stops answering 200: registering it is refused
    refused = assert_problem(mc.post(f"/lists/{NEWS}/webhooks", json={"url": receiver.url}),
                             400, "Invalid Resource")
    assert refused["errors"][0]["field"] == "url"


def test_webhook_delivery_is_form_encoded_and_secret_checked(
        box: Any, sandbox: SandboxServer, receiver: Receiver) -> None:
    headers, body = webhook_delivery(box, "https://hooks.example/mc?secret=s", {
        "type": "unsubscribe", "fired_at": "2009-03-26 21:40:57",
        "data": {"action": "unsub", "reason": "manual", "id": "8a25ff1d98",
                 "list_id": "a6b5da1054", "email": "api+unsub@mailchimp.com",
                 "email_type": "html", "merges": {"EMAIL": "api+unsub@mailchimp.com",
                                                  "FNAME": "Mailchimp", "LNAME": "API"},
                 "ip_opt": "10.20.10.30", "campaign_id": "cb398d21d2"}})
    assert headers == {"Content-Type": "application/x-www-form-urlencoded",
                       "User-Agent": "MailChimp.com"}
    assert body.startswith(b"type=unsubscribe&fired_at=2009-03-26+21%3A40%3A57&data%5Baction%5D"
                           b"=unsub&data%5Breason%5D=manual")
    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert fields["data[merges][FNAME]"] == "Mailchimp"
    assert fields["data[email]"] == "api+unsub@mailchimp.com"

    secret = box.webhook_secret
    sent = httpx.post(sandbox.url + "/mailchimp/_sandbox/webhooks/deliver", json={
        "url": f"{receiver.url}/mc?secret={secret}", "payload": {"type": "subscribe"}})
    assert sent.json()["status_code"] == 200
    call = receiver.calls[0]
    path, got_headers, got_body = call.path, call.headers, call.body
    assert call.method == "POST"
    assert got_headers["Content-Type"] == "application/x-www-form-urlencoded"
    # What Connectus does: the secret in the query, compared in constant time.
    assert hmac.compare_digest(parse_qs(urlsplit(path).query)["secret"][0], secret)
    got = {k: v[0] for k, v in parse_qs(got_body.decode()).items()}
    first = httpx.get(sandbox.url + f"/mailchimp/us1/3.0/lists/{NEWS}/members",
                      params={"count": 1}, auth=KEY).json()["members"][0]
    assert got["type"] == "subscribe" and got["data[list_id]"] == NEWS
    assert got["data[email]"] == first["email_address"] and got["data[id]"] == first["id"]
    assert got["data[merges][FNAME]"] == first["merge_fields"]["FNAME"]


def test_marketing_sdk_reads_and_writes_what_the_sandbox_serves(
        small: None, sandbox: SandboxServer, mc: httpx.Client) -> None:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": DEMO_TOKEN, "server": "us1"})
    # The SDK's host is https://server.api.mailchimp.com/3.0 with "server" swapped for the dc.
    client.api_client.host = sandbox.url + "/mailchimp/server/3.0"
    assert [lst["id"] for lst in client.lists.get_all_lists()["lists"]] == [NEWS, CUSTOMERS, BETA]
    sdk_ids: list[str] = []
    offset = 0
    while True:
        page = client.lists.get_list_members_info(NEWS, count=1000, offset=offset)
        sdk_ids += [m["id"] for m in page["members"]]
        offset += 1000
        if offset >= page["total_items"]:
            break
    raw: list[str] = []
    for start in range(0, 2345, 1000):
        raw += [m["id"] for m in mc.get(f"/lists/{NEWS}/members",
                                        params={"count": 1000, "offset": start}).json()["members"]]
    assert sdk_ids == raw and len(set(sdk_ids)) == 2345

    email = "Linus@Kernel.example"
    put = client.lists.set_list_member(NEWS, md5(email), {
        "email_address": email, "status_if_new": "pending", "merge_fields": {"FNAME": "Linus"}})
    assert put["id"] == md5(email) and put["status"] == "pending"
    assert mc.get(f"/lists/{NEWS}/members/{md5(email)}").json()["merge_fields"]["FNAME"] == "Linus"
    batch = client.lists.batch_list_members(NEWS, {"members": [
        {"email_address": "ken@unix.example", "status": "subscribed"},
        {"email_address": email, "status": "subscribed"}], "update_existing": True})
    assert (batch["total_created"], batch["total_updated"], batch["error_count"]) == (1, 1, 0)
    assert mc.get(f"/lists/{NEWS}/members", params={"count": 1}).json()["total_items"] == 2347

    client.set_config({"api_key": DEMO_TOKEN, "server": "us9"})
    with pytest.raises(ApiClientError) as wrong_dc:
        client.ping.get()
    assert wrong_dc.value.status_code == 403


def test_basic_auth_header_shape(sandbox: SandboxServer) -> None:
    token = base64.b64encode(f"whoever:{DEMO_TOKEN}".encode()).decode()
    ok = httpx.get(sandbox.url + "/mailchimp/us1/3.0/ping",
                   headers={"Authorization": f"Basic {token}"})
    assert ok.status_code == 200
    broken = httpx.get(sandbox.url + "/mailchimp/us1/3.0/ping",
                       headers={"Authorization": "Basic %%%"})
    assert_problem(broken, 401, "API Key Missing")
