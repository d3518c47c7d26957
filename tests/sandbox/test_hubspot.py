"""The HubSpot simulator against HubSpot's documented wire format (and the official SDK)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
)

from connectors.sandbox.hubspot import DEMO_TOKEN, signature_v3
from connectors.sandbox.kit import EPOCH, Faults
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Receiver

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
SMALL = {"contacts": 237, "companies": 41, "deals": 5}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def ms(index: int) -> int:
    """Last-modified time of generated record ``index`` in epoch ms (60 s apart)."""
    return (EPOCH + index * 60) * 1000


@pytest.fixture
def base(sandbox: SandboxServer) -> str:
    return sandbox.url + "/hubspot"


@pytest.fixture
def small(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sandbox with a few hundred records, so tests can page to the very end."""
    box = sandbox.sandboxes["hubspot"]
    monkeypatch.setattr(box, "counts_override", dict(SMALL))
    box.reset()
    return sandbox.url + "/hubspot"


def limits(base: str, **values: int) -> None:
    httpx.post(base + "/_sandbox/limits", json=values).raise_for_status()


def search(base: str, obj: str, body: dict[str, Any], token: str = DEMO_TOKEN) -> httpx.Response:
    return httpx.post(f"{base}/crm/v3/objects/{obj}/search", json=body,
                      headers={"Authorization": f"Bearer {token}"})


def test_signature_v3_matches_official_vector() -> None:
    got = signature_v3("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST",
                       "https://www.example.com/webhook_uri",
                       b"{'example_field':'example_value'}", 1693657560000)
    assert got == "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="


def test_list_pages_to_the_last_record(small: str) -> None:
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params = {"limit": 100, **({"after": after} if after else {})}
        page = httpx.get(f"{small}/crm/v3/objects/contacts", params=params, headers=AUTH).json()
        pages += 1
        seen += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert page["paging"]["next"]["link"].endswith(f"after={after}")
    assert pages == 3
    assert len(seen) == SMALL["contacts"] == len(set(seen))
    first = httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH).json()
    assert len(first["results"]) == 10  # HubSpot's default page size
    record = first["results"][0]
    assert set(record) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(record["properties"]) == {"createdate", "email", "firstname", "hs_object_id",
                                         "lastmodifieddate", "lastname"}
    assert record["properties"]["hs_object_id"] == record["id"]
    assert record["archived"] is False
    assert all(isinstance(v, str) for v in record["properties"].values())
    assert ISO_MS.match(record["updatedAt"]) and ISO_MS.match(record["properties"]["createdate"])
    assert record["updatedAt"] == record["properties"]["lastmodifieddate"]


def test_default_counts_and_other_objects(base: str) -> None:
    ids: set[str] = set()
    after = None
    while True:
        params = {"limit": 100, "properties": "name,domain", **({"after": after} if after else {})}
        page = httpx.get(f"{base}/crm/v3/objects/companies", params=params, headers=AUTH).json()
        ids |= {r["id"] for r in page["results"]}
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
    assert len(ids) == 600
    props = page["results"][-1]["properties"]
    assert set(props) == {"name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"}
    deal = httpx.get(f"{base}/crm/v3/objects/0-3", params=[("properties", "amount"),
                                                           ("properties", "dealstage")],
                     headers=AUTH).json()["results"][0]
    assert set(deal["properties"]) == {"amount", "dealstage", "createdate",
                                       "hs_lastmodifieddate", "hs_object_id"}
    assert float(deal["properties"]["amount"]) > 0


def test_bad_parameters_name_what_is_wrong(base: str) -> None:
    cases = [("/crm/v3/objects/contacts", {"limit": 101}, "limit"),
             ("/crm/v3/objects/contacts", {"after": "abc"}, "after"),
             ("/crm/v3/objects/contacts", {"archived": "maybe"}, "archived"),
             ("/crm/v3/objects/widgets", {}, "widgets")]
    for path, params, word in cases:
        resp = httpx.get(base + path, params=params, headers=AUTH)
        body = resp.json()
        assert resp.status_code == 400, path
        assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
        assert word in body["message"] and body["correlationId"]
    missing = httpx.get(f"{base}/crm/v3/nothing/here", headers=AUTH)
    assert missing.status_code == 404 and "/crm/v3/nothing/here" in missing.json()["message"]


def test_delta_search_pages_and_sees_later_writes(small: str) -> None:
    limits(small, search_per_second=100)
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                            "value": str(ms(200))}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 10}
    got: list[dict[str, Any]] = []
    while True:
        page = search(small, "contacts", body).json()
        assert page["total"] == 37
        got += page["results"]
        if "paging" not in page:
            break
        body["after"] = page["paging"]["next"]["after"]
    assert [r["id"] for r in got] == [str(1001 + i) for i in range(200, 237)]
    stamps = [r["properties"]["lastmodifieddate"] for r in got]
    assert stamps == sorted(stamps)
    cursor = max(stamps)
    update = httpx.post(f"{small}/crm/v3/objects/contacts/batch/update", headers=AUTH,
                        json={"inputs": [{"id": "1006", "properties": {"firstname": "Edited"}}]})
    assert update.status_code == 200
    cursor_ms = int(time.mktime(time.strptime(cursor, "%Y-%m-%dT%H:%M:%S.000Z"))
                    - time.timezone) * 1000
    later = search(small, "contacts", {"filterGroups": [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GT", "value": cursor_ms}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["firstname"]}).json()
    assert later["total"] == 1
    assert later["results"][0]["id"] == "1006"
    assert later["results"][0]["properties"]["firstname"] == "Edited"


def test_search_operators(small: str) -> None:
    limits(small, search_per_second=100)

    def ids(*filters: dict[str, Any], obj: str = "contacts") -> list[str]:
        resp = search(small, obj, {"filterGroups": [{"filters": list(filters)}], "limit": 200})
        assert resp.status_code == 200, resp.text
        return [r["id"] for r in resp.json()["results"]]

    lm = "lastmodifieddate"
    assert ids({"propertyName": lm, "operator": "BETWEEN", "value": ms(10),
                "highValue": ms(12)}) == ["1011", "1012", "1013"]
    assert ids({"propertyName": lm, "operator": "LT", "value": ms(2)}) == ["1001", "1002"]
    assert ids({"propertyName": lm, "operator": "LTE", "value": ms(2)}) == ["1001", "1002",
                                                                          "1003"]
    assert ids({"propertyName": lm, "operator": "EQ", "value": ms(5)}) == ["1006"]
    assert ids({"propertyName": lm, "operator": "GT", "value": ms(235)}) == ["1237"]
    assert ids({"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": ms(39)},
               obj="companies") == ["2000000040", "2000000041"]
    emails = [httpx.get(f"{small}/crm/v3/objects/contacts/{1001 + i}", headers=AUTH)
              .json()["properties"]["email"] for i in (3, 150)]
    assert ids({"propertyName": "email", "operator": "EQ", "value": emails[0].upper()}) == \
        ["1004"]
    assert ids({"propertyName": "email", "operator": "IN", "values": emails}) == \
        ["1004", "1151"]
    totals = [search(small, "contacts", {"filterGroups": [{"filters": [
        {"propertyName": "phone", "operator": op}]}]}).json()["total"]
        for op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY")]
    assert sum(totals) == SMALL["contacts"] and min(totals) > 0
    either = search(small, "contacts", {"filterGroups": [
        {"filters": [{"propertyName": lm, "operator": "EQ", "value": ms(0)}]},
        {"filters": [{"propertyName": lm, "operator": "EQ", "value": ms(236)}]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}]}).json()
    assert [r["id"] for r in either["results"]] == ["1237", "1001"] and either["total"] == 2


def test_search_limits_and_result_cap(sandbox: SandboxServer, base: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    box = sandbox.sandboxes["hubspot"]
    monkeypatch.setattr(box, "counts_override", {"contacts": 50_000})
    box.reset()
    limits(base, search_per_second=100)
    deep = search(base, "contacts", {"limit": 200, "after": "9800"}).json()
    assert deep["total"] == 50_000 and len(deep["results"]) == 200
    assert deep["results"][0]["id"] == str(1001 + 9800)
    assert deep["paging"]["next"]["after"] == "10000"
    bad = [({"after": "10000"}, "10000"), ({"limit": 201}, "limit"),
           ({"filterGroups": [{"filters": []}] * 6}, "filter groups"),
           ({"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]}, "sort"),
           ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE",
                                            "value": "x"}]}]}, "LIKE"),
           ({"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                            "operator": "BETWEEN", "value": 1}]}]}, "highValue")]
    for body, word in bad:
        resp = search(base, "contacts", body)
        assert resp.status_code == 400, body
        assert resp.json()["category"] == "VALIDATION_ERROR" and word in resp.json()["message"]


def test_rate_limit_headers_and_ten_secondly_429(base: str) -> None:
    limits(base, ten_secondly=3)
    seen = []
    for _ in range(3):
        resp = httpx.get(f"{base}/crm/v3/objects/contacts", headers=AUTH)
        assert resp.status_code == 200
        seen.append(resp.headers["X-HubSpot-RateLimit-Remaining"])
        assert resp.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert resp.headers["X-HubSpot-RateLimit-Daily"] == "1000000"
    assert seen == ["2", "1", "0"]
    assert resp.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999997"
    limited = httpx.get(f"{base}/crm/v3/objects/contacts", headers=AUTH)
    assert limited.status_code == 429
    body = limited.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["category"] == "RATE_LIMITS"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_search_is_limited_per_second_without_headers(base: str) -> None:
    limits(base, search_per_second=2)
    ok = [search(base, "contacts", {}) for _ in range(2)]
    assert all(r.status_code == 200 for r in ok)
    assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in ok[0].headers)
    third = search(base, "contacts", {})
    assert third.status_code == 429 and third.json()["policyName"] == "SECONDLY"


def test_injected_429_and_5xx(sandbox: SandboxServer, base: str) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.set_faults(Faults(rate_429=1.0, retry_after_s=7))
    resp = httpx.get(f"{base}/crm/v3/objects/contacts", headers=AUTH)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    box.set_faults(Faults(rate_5xx=1.0))
    resp = httpx.post(f"{base}/crm/v3/objects/contacts/search", json={}, headers=AUTH)
    assert resp.status_code == 502
    body = resp.json()
    assert body["status"] == "error" and body["category"] and body["correlationId"]


def test_bad_credentials(base: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c2FuZGJveA=="}):
        resp = httpx.get(f"{base}/crm/v3/objects/contacts", headers=headers)
        assert resp.status_code == 401
        assert resp.json()["category"] == "INVALID_AUTHENTICATION"
        assert resp.json()["message"].startswith("Authentication credentials not found")


def _oauth(base: str, verifier: str = "v" * 50) -> dict[str, Any]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "https://connectus.example/oauth/callback"
    auth = httpx.get(f"{base}/oauth/authorize", params={
        "client_id": "sandbox-client", "redirect_uri": redirect, "state": "xyz",
        "scope": "oauth crm.objects.contacts.read", "code_challenge_method": "S256",
        "code_challenge": challenge.rstrip(b"=").decode()})
    assert auth.status_code == 302
    target = httpx.URL(auth.headers["location"])
    assert str(target).startswith(redirect) and target.params["state"] == "xyz"
    return {"grant_type": "authorization_code", "client_id": "sandbox-client",
            "client_secret": "sandbox-secret", "redirect_uri": redirect,
            "code": target.params["code"], "code_verifier": verifier}


def test_oauth_expiry_after_n_calls_then_refresh(sandbox: SandboxServer, base: str) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(token_expiry_calls=2))
    wrong = _oauth(base) | {"code_verifier": "w" * 50}
    assert httpx.post(f"{base}/oauth/v1/token", data=wrong).json()["status"] == "BAD_AUTH_CODE"
    tokens = httpx.post(f"{base}/oauth/v1/token", data=_oauth(base)).json()
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "bearer"
    assert tokens["scopes"] == ["oauth", "crm.objects.contacts.read"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    for _ in range(2):
        ok = httpx.get(f"{base}/crm/v3/objects/contacts", headers=bearer)
        assert ok.status_code == 200
        assert "X-HubSpot-RateLimit-Daily" not in ok.headers  # OAuth calls omit the daily pair
    expired = httpx.get(f"{base}/crm/v3/objects/contacts", headers=bearer)
    assert expired.status_code == 401
    assert expired.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert "expired" in expired.json()["message"]
    refresh = {"grant_type": "refresh_token", "client_id": "sandbox-client",
               "client_secret": "sandbox-secret", "refresh_token": tokens["refresh_token"]}
    fresh = httpx.post(f"{base}/oauth/v3/token", data=refresh).json()
    assert fresh["access_token"] != tokens["access_token"]
    again = httpx.get(f"{base}/crm/v3/objects/contacts",
                      headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert again.status_code == 200
    old = httpx.get(f"{base}/crm/v3/objects/contacts", headers=bearer)
    assert old.json()["category"] == "INVALID_AUTHENTICATION"
    bad = httpx.post(f"{base}/oauth/v1/token", data=refresh | {"refresh_token": "nope"}).json()
    assert bad["status"] == "BAD_REFRESH_TOKEN"
    info = httpx.get(f"{base}/oauth/v1/access-tokens/{fresh['access_token']}").json()
    assert info["hub_id"] == tokens["hub_id"] and 0 < info["expires_in"] <= 1800
    assert info["token"] == fresh["access_token"] and info["token_type"] == "access"
    assert httpx.get(f"{base}/oauth/v1/access-tokens/unknown").status_code == 404


def test_batch_create_then_read_back(small: str) -> None:
    limits(small, search_per_second=100)
    inputs = [{"properties": {"email": f"new{i}@connectus.example", "firstname": f"New{i}",
                              "lifecyclestage": "lead"}} for i in range(3)]
    created = httpx.post(f"{small}/crm/v3/objects/contacts/batch/create", headers=AUTH,
                         json={"inputs": inputs})
    assert created.status_code == 201 and created.json()["status"] == "COMPLETE"
    ids = [r["id"] for r in created.json()["results"]]
    assert len(set(ids)) == 3
    read = httpx.post(f"{small}/crm/v3/objects/contacts/batch/read", headers=AUTH,
                      json={"inputs": [{"id": i} for i in [*ids, "999999999"]],
                            "properties": ["email", "lifecyclestage"]})
    assert read.status_code == 207
    assert read.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert read.json()["errors"][0]["context"] == {"ids": ["999999999"]}
    assert sorted(r["properties"]["email"] for r in read.json()["results"]) == \
        [f"new{i}@connectus.example" for i in range(3)]
    found = search(small, "contacts", {"filterGroups": [{"filters": [
        {"propertyName": "email", "operator": "EQ", "value": "new1@connectus.example"}]}]}).json()
    assert [r["id"] for r in found["results"]] == [ids[1]]
    tail = httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH,
                     params={"after": "1200", "limit": 100}).json()
    assert [r["id"] for r in tail["results"]][-3:] == ids and "paging" not in tail
    dupe = httpx.post(f"{small}/crm/v3/objects/contacts", headers=AUTH,
                      json={"properties": {"email": "NEW0@connectus.example"}})
    assert dupe.status_code == 409 and dupe.json()["category"] == "CONFLICT"


def test_batch_partial_failure_limits_upsert_and_archive(small: str) -> None:
    url = f"{small}/crm/v3/objects/contacts/batch"
    traced = [{"objectWriteTraceId": "a", "properties": {"email": "ok@connectus.example"}},
              {"objectWriteTraceId": "b", "properties": {"email": "not-an-email"}}]
    partial = httpx.post(url + "/create", headers=AUTH, json={"inputs": traced})
    assert partial.status_code == 207
    assert partial.json()["numErrors"] == 1 and len(partial.json()["results"]) == 1
    error = partial.json()["errors"][0]
    assert error["context"] == {"objectWriteTraceId": ["b"]}
    assert error["errors"][0]["code"] == "INVALID_EMAIL"
    atomic = httpx.post(url + "/create", headers=AUTH, json={"inputs": [
        {"properties": {"email": "fine@connectus.example"}}, {"properties": {"colour": "red"}}]})
    assert atomic.status_code == 400 and atomic.json()["category"] == "VALIDATION_ERROR"
    assert atomic.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    too_many = httpx.post(url + "/update", headers=AUTH,
                          json={"inputs": [{"id": "1001", "properties": {}}] * 101})
    assert too_many.status_code == 400 and "100" in too_many.json()["message"]
    existing = httpx.get(f"{small}/crm/v3/objects/contacts/1010", headers=AUTH).json()
    upsert = httpx.post(url + "/upsert", headers=AUTH, json={"inputs": [
        {"id": existing["properties"]["email"], "idProperty": "email",
         "properties": {"lastname": "Upserted"}},
        {"id": "brand.new@connectus.example", "idProperty": "email",
         "properties": {"firstname": "Brand"}}]})
    assert upsert.status_code == 200
    flags = {r["id"]: r["new"] for r in upsert.json()["results"]}
    assert flags.pop("1010") is False and list(flags.values()) == [True]
    by_email = httpx.get(f"{small}/crm/v3/objects/contacts/brand.new@connectus.example",
                         params={"idProperty": "email"}, headers=AUTH)
    assert by_email.json()["properties"]["firstname"] == "Brand"
    assert by_email.json()["properties"]["lastname"] is None  # default property, never set
    assert by_email.json()["id"] in flags
    archived = httpx.post(url + "/archive", headers=AUTH, json={"inputs": [{"id": "1010"}]})
    assert archived.status_code == 204
    gone = httpx.get(f"{small}/crm/v3/objects/contacts/1010", headers=AUTH)
    assert gone.status_code == 404 and gone.json()["category"] == "OBJECT_NOT_FOUND"
    listed = httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH,
                       params={"archived": "true"}).json()["results"]
    assert [r["id"] for r in listed] == ["1010"] and listed[0]["archived"] is True
    page = httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH,
                     params={"after": "1005", "limit": 10}).json()["results"]
    assert "1010" not in [r["id"] for r in page] and len(page) == 10


def test_record_changes_mid_sync(sandbox: SandboxServer, small: str) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(mutate_after_calls=1))
    httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH).raise_for_status()
    since = search(small, "contacts", {"filterGroups": [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GT", "value": ms(236)}]}]}).json()
    assert [r["id"] for r in since["results"]] == ["1001"]


def test_webhook_delivery_is_signed(sandbox: SandboxServer, base: str,
                                    receiver: Receiver) -> None:
    receiver.status = 204
    url = f"{receiver.url}/hooks/hubspot?tenant=acme"
    events = [{"subscriptionType": "contact.creation", "objectId": 1042},
              {"objectId": 1043, "propertyName": "firstname", "propertyValue": "Ada"}]
    sent = httpx.post(f"{base}/_sandbox/webhooks/deliver", json={"url": url, "payload": events})
    assert sent.json()["status_code"] == 204
    call = receiver.calls[0]
    path, headers, body = call.path, call.headers, call.body
    assert path == "/hooks/hubspot?tenant=acme"
    stamp = headers["X-HubSpot-Request-Timestamp"]
    assert abs(int(stamp) - time.time() * 1000) < 300_000
    source = b"POST" + url.encode() + body + stamp.encode()
    expected = base64.b64encode(hmac.new(b"sandbox-secret", source, hashlib.sha256).digest())
    assert headers["X-HubSpot-Signature-v3"] == expected.decode()
    assert headers["X-HubSpot-Signature"] == hashlib.sha256(b"sandbox-secret" + body).hexdigest()
    delivered = json.loads(body)
    assert [e["objectId"] for e in delivered] == [1042, 1043]
    assert "propertyName" not in delivered[0] and delivered[1]["propertyValue"] == "Ada"
    for event in delivered:
        assert {"eventId", "subscriptionId", "portalId", "appId", "occurredAt",
                "subscriptionType", "attemptNumber", "changeSource"} <= set(event)


def test_official_sdk_reads_what_the_simulator_serves(small: str) -> None:
    limits(small, search_per_second=100)
    client = HubSpot(access_token=DEMO_TOKEN, host=small)
    raw = [r["id"] for r in httpx.get(f"{small}/crm/v3/objects/contacts", headers=AUTH,
                                      params={"limit": 100}).json()["results"]]
    paged: list[str] = []
    after = None
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=50, after=after,
                                                      properties=["email", "phone"])
        paged += [r.id for r in page.results]
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    assert len(paged) == SMALL["contacts"] == len(set(paged)) and paged[:100] == raw
    everything = client.crm.contacts.get_all()
    assert [r.id for r in everything] == paged
    assert everything[0].properties["email"].endswith(".example")
    assert everything[0].updated_at.year == 2024
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name="lastmodifieddate",
                                                   operator="GTE", value=str(ms(230)))])],
        limit=5)
    found = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert found.total == 7 and [r.id for r in found.results] == [str(1231 + i) for i in range(5)]
    batch = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        SimplePublicObjectBatchInputForCreate(properties={"email": "sdk@connectus.example",
                                                          "firstname": "Sdk"},
                                              associations=[])])
    made = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=batch)
    assert made.status == "COMPLETE" and len(made.results) == 1
    again = client.crm.contacts.basic_api.get_by_id(made.results[0].id, properties=["firstname"])
    assert again.properties["firstname"] == "Sdk"
