"""The Salesforce simulator against Salesforce's REST wire format (and simple-salesforce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from simple_salesforce import Salesforce

from connectors.sandbox.kit import EPOCH, Faults
from connectors.sandbox.salesforce import (
    DEMO_TOKEN,
    SalesforceState,
    outbound_message,
    webhook_delivery,
)
from connectors.sandbox.salesforce.data import id18, normalize_id, sf_datetime
from connectors.sandbox.server import SandboxServer
from tests.sandbox.conftest import Received, Receiver

V = "/services/data/v62.0"
AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
SMALL = {"Account": 450, "Contact": 2345, "Lead": 7, "Opportunity": 0}
SF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
NEXT_URL = re.compile(r"^/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-(\d+)$")


def stamp(index: int) -> str:
    """SystemModstamp of generated record ``index`` (records are 60 s apart from EPOCH)."""
    return sf_datetime(EPOCH + index * 60)


@pytest.fixture
def box(sandbox: SandboxServer) -> Any:
    return sandbox.sandboxes["salesforce"]


@pytest.fixture
def sf(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/salesforce", headers=AUTH) as client:
        yield client


@pytest.fixture
def small(box: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(box, "counts_override", dict(SMALL))
    box.reset()


def query(client: httpx.Client, soql: str, **headers: str) -> httpx.Response:
    return client.get(f"{V}/query", params={"q": soql}, headers=headers)


def test_version_list_needs_no_auth_and_data_calls_report_usage(
        sandbox: SandboxServer, sf: httpx.Client) -> None:
    versions = httpx.get(sandbox.url + "/salesforce/services/data/").json()
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    first = sf.get(f"{V}/limits")
    second = sf.get("/services/data/v58.0/limits")  # any vNN.N is served
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert second.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99998}
    assert sf.get("/services/data/62/limits").status_code == 404


def test_query_pages_to_the_last_record(small: None, sf: httpx.Client) -> None:
    page = query(sf, "SELECT Id, Email, SystemModstamp FROM Contact",
                 **{"Sforce-Query-Options": "batchSize=500"}).json()
    ids: list[str] = []
    sizes: list[int] = []
    while True:
        assert page["totalSize"] == 2345
        sizes.append(len(page["records"]))
        for rec in page["records"]:
            assert list(rec) == ["attributes", "Id", "Email", "SystemModstamp"]
            assert rec["attributes"] == {"type": "Contact",
                                         "url": f"{V}/sobjects/Contact/{rec['Id']}"}
            assert len(rec["Id"]) == 18 and rec["Id"].startswith("003")
            assert normalize_id(rec["Id"][:15]) == rec["Id"]
            assert SF_TIME.match(rec["SystemModstamp"])
            ids.append(rec["Id"])
        if page["done"]:
            assert "nextRecordsUrl" not in page
            break
        match = NEXT_URL.match(page["nextRecordsUrl"])
        assert match and int(match.group(1)) == len(ids)
        page = sf.get(page["nextRecordsUrl"]).json()
    assert sizes == [500, 500, 500, 500, 345]
    assert len(ids) == len(set(ids)) == 2345
    assert ids[0] == id18("0035g0000000000") and ids[-1] == "0035g00000000boAAA"


def test_batch_size_is_clamped_to_200_2000(sf: httpx.Client) -> None:
    soql = "SELECT Id FROM Contact"
    assert len(query(sf, soql).json()["records"]) == 2000  # default batch
    assert len(query(sf, soql, **{"Sforce-Query-Options": "batchSize=50"}).json()["records"]) \
        == 200
    big = query(sf, soql, **{"Sforce-Query-Options": "batchSize=5000"}).json()
    assert len(big["records"]) == 2000 and big["totalSize"] == 3000


def test_delta_filters_and_count(sf: httpx.Client) -> None:
    strict = query(sf, "SELECT Id, SystemModstamp FROM Account "
                       "WHERE SystemModstamp > 2024-01-01T10:00:00Z ORDER BY SystemModstamp ASC")
    body = strict.json()
    assert body["totalSize"] == 800 - 601
    assert body["records"][0]["SystemModstamp"] == stamp(601)
    inclusive = query(sf, "SELECT Id FROM Account WHERE LastModifiedDate >= "
                          "2024-01-01T10:00:00.000+0000").json()
    assert inclusive["totalSize"] == 800 - 600
    window = query(sf, "SELECT SystemModstamp FROM Account WHERE SystemModstamp >= "
                       "2024-01-01T01:00:00Z AND SystemModstamp < 2024-01-01T02:00:00Z").json()
    assert [r["SystemModstamp"] for r in window["records"]] == [stamp(i) for i in range(60, 120)]
    counted = query(sf, "SELECT COUNT() FROM Lead WHERE SystemModstamp > 2024-01-01T00:09:30Z")
    assert counted.json() == {"totalSize": 1200 - 10, "done": True, "records": []}
    limited = query(sf, "SELECT Id FROM Lead ORDER BY SystemModstamp LIMIT 3").json()
    assert limited["totalSize"] == 3 and len(limited["records"]) == 3 and limited["done"]


def test_soql_errors_have_salesforce_shape(sf: httpx.Client) -> None:
    bad_type = query(sf, "SELECT Id FROM Widget")
    assert bad_type.status_code == 400
    assert bad_type.json() == [{"errorCode": "INVALID_TYPE", "message": (
        "\nSELECT Id FROM Widget\n               ^\nERROR at Row:1:Column:16\nsObject type "
        "'Widget' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe "
        "call for the appropriate names.")}]
    bad_field = query(sf, "SELECT Id, Foo FROM Account").json()[0]
    assert bad_field["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Account'." \
        in bad_field["message"]
    malformed = query(sf, "SELECT Id FORM Account").json()[0]
    assert malformed == {"errorCode": "MALFORMED_QUERY", "message":
                         "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\n"
                         "unexpected token: 'FORM'"}
    quoted = query(sf, "SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01'").json()[0]
    assert quoted["errorCode"] == "INVALID_FIELD" and "must be of type dateTime" \
        in quoted["message"]
    unsupported = query(sf, "SELECT Id FROM Account WHERE Name = 'Acme'").json()[0]
    assert unsupported["errorCode"] == "MALFORMED_QUERY" and "sandbox" in unsupported["message"]
    assert sf.get(f"{V}/query/01gXXXXXXXXXXXXXXX-2000").json()[0]["errorCode"] \
        == "INVALID_QUERY_LOCATOR"


def test_record_changed_mid_sync_shows_up_in_the_next_delta(box: Any, sf: httpx.Client) -> None:
    box.set_faults(Faults(mutate_after_calls=2))
    first = query(sf, "SELECT Id, SystemModstamp FROM Account").json()
    high_water = first["records"][-1]["SystemModstamp"]
    assert first["records"][0]["Id"] == id18("0015g0000000000")
    delta = query(sf, "SELECT Id, Description, SystemModstamp FROM Account "
                      f"WHERE SystemModstamp > {high_water}").json()
    assert delta["totalSize"] == 1
    changed = delta["records"][0]
    assert changed["Id"] == id18("0015g0000000000")
    assert changed["Description"].startswith("changed mid-sync")
    assert changed["SystemModstamp"] > high_water


def test_faults_render_as_salesforce_does(box: Any, sf: httpx.Client) -> None:
    box.set_faults(Faults(rate_429=1.0, retry_after_s=7))
    limited = sf.get(f"{V}/limits")
    assert limited.status_code == 403  # Salesforce has no 429
    assert limited.json() == [{"message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                               "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert "Retry-After" not in limited.headers and "Sforce-Limit-Info" in limited.headers
    box.set_faults(Faults(rate_5xx=1.0))
    down = query(sf, "SELECT Id FROM Account")
    assert down.status_code == 503 and down.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_daily_allocation_runs_out(box: Any, sf: httpx.Client) -> None:
    box.state_as(SalesforceState).daily_api_allocation = 3
    assert [sf.get(f"{V}/limits").status_code for _ in range(3)] == [200, 200, 200]
    spent = sf.get(f"{V}/limits")
    assert spent.status_code == 403
    assert spent.json() == [{"message": "TotalRequests Limit exceeded.",
                             "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert spent.headers["Sforce-Limit-Info"] == "api-usage=3/3"


def test_bad_or_missing_session(sandbox: SandboxServer) -> None:
    expected = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    base = sandbox.url + "/salesforce" + V + "/limits"
    assert httpx.get(base).json() == expected
    wrong = httpx.get(base, headers={"Authorization": "Bearer 00Dnope!xyz"})
    assert wrong.status_code == 401 and wrong.json() == expected


def _pkce() -> tuple[str, str]:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_oauth_pkce_expiry_and_refresh(sandbox: SandboxServer, box: Any) -> None:
    root = sandbox.url + "/salesforce"
    box.set_faults(Faults(token_expiry_calls=2))
    verifier, challenge = _pkce()
    auth = httpx.get(root + "/services/oauth2/authorize", params={
        "response_type": "code", "client_id": box.client_id, "redirect_uri": "http://app/cb",
        "scope": "api refresh_token", "state": "s1", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert auth.status_code == 302
    back = parse_qs(urlsplit(auth.headers["location"]).query)
    assert back["state"] == ["s1"]
    form = {"grant_type": "authorization_code", "code": back["code"][0],
            "client_id": box.client_id, "client_secret": box.client_secret,
            "redirect_uri": "http://app/cb"}
    wrong = httpx.post(root + "/services/oauth2/token", data={**form, "code_verifier": "x" * 50})
    assert wrong.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}
    # the failed attempt consumed the code, as Salesforce codes are single use: authorize again
    auth = httpx.get(root + "/services/oauth2/authorize", params={
        "response_type": "code", "client_id": box.client_id, "redirect_uri": "http://app/cb",
        "scope": "api refresh_token", "code_challenge": challenge})
    form["code"] = parse_qs(urlsplit(auth.headers["location"]).query)["code"][0]
    token = httpx.post(root + "/services/oauth2/token", data={**form, "code_verifier": verifier})
    body = token.json()
    assert set(body) == {"access_token", "refresh_token", "signature", "scope", "instance_url",
                         "id", "token_type", "issued_at"}
    assert body["instance_url"] == root and body["token_type"] == "Bearer"
    assert body["access_token"].startswith(box.state_as(SalesforceState).org_id + "!")
    expected = hmac.new(box.client_secret.encode(), (body["id"] + body["issued_at"]).encode(),
                        hashlib.sha256).digest()
    assert base64.b64decode(body["signature"]) == expected
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(root + "/services/oauth2/userinfo", headers=bearer).json()["organization_id"] \
        == box.state_as(SalesforceState).org_id
    assert httpx.get(body["instance_url"] + V + "/limits", headers=bearer).status_code == 200
    expired = httpx.get(body["instance_url"] + V + "/limits", headers=bearer)
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    refreshed = httpx.post(root + "/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": box.client_id, "client_secret": box.client_secret}).json()
    assert "refresh_token" not in refreshed and refreshed["access_token"] != body["access_token"]
    again = httpx.get(root + V + "/limits",
                      headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert again.status_code == 200


def test_sobject_rows_upsert_and_delete(sf: httpx.Client) -> None:
    missing = sf.post(f"{V}/sobjects/Contact", json={"FirstName": "Ada"})
    assert missing.status_code == 400
    assert missing.json() == [{"message": "Required fields are missing: [LastName]",
                               "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}]
    created = sf.post(f"{V}/sobjects/Contact", json={"FirstName": "Ada", "LastName": "Lovelace",
                                                      "Email": "ada@example.org"})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert created.json() == {"id": new_id, "success": True, "errors": []}
    assert sf.patch(f"{V}/sobjects/Contact/{new_id}", json={"Title": "Countess"}).status_code \
        == 204
    row = sf.get(f"{V}/sobjects/Contact/{new_id[:15]}", params={"fields": "Name,Title"}).json()
    assert row == {"attributes": {"type": "Contact", "url": f"{V}/sobjects/Contact/{new_id}"},
                   "Name": "Ada Lovelace", "Title": "Countess"}
    updated = sf.patch(f"{V}/sobjects/Contact/External_Id__c/EXT-003-00000005",
                       json={"Title": "CEO"})
    assert updated.status_code == 200
    assert updated.json() == {"id": id18("0035g0000000005"), "success": True, "errors": [],
                              "created": False}
    inserted = sf.patch(f"{V}/sobjects/Contact/External_Id__c/CRM-42", json={"LastName": "Hopper"})
    assert inserted.status_code == 201 and inserted.json()["created"] is True
    by_ext = sf.get(f"{V}/sobjects/Contact/External_Id__c/CRM-42").json()
    assert by_ext["LastName"] == "Hopper" and by_ext["Id"] == inserted.json()["id"]
    assert sf.delete(f"{V}/sobjects/Contact/{new_id}").status_code == 204
    gone = sf.get(f"{V}/sobjects/Contact/{new_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.get(f"{V}/sobjects/Contact/notAnId").json()[0]["message"].startswith(
        "Provided external ID field does not exist")
    soql = "SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp > 2025-01-01T00:00:00Z"
    live = query(sf, soql).json()["records"]
    every = sf.get(f"{V}/queryAll", params={"q": soql}).json()["records"]
    assert {r["Id"] for r in live} == {id18("0035g0000000005"), inserted.json()["id"]}
    assert {"Id": new_id, "IsDeleted": True} in [{k: r[k] for k in ("Id", "IsDeleted")}
                                                  for r in every]
    assert sf.put(f"{V}/sobjects/Contact/{new_id}").status_code == 405


def test_collections_all_or_none_and_limits(sf: httpx.Client) -> None:
    def contact(last: str | None, **extra: Any) -> dict[str, Any]:
        return {"attributes": {"type": "Contact"}, **({"LastName": last} if last else {}), **extra}

    before = query(sf, "SELECT COUNT() FROM Contact").json()["totalSize"]
    rolled = sf.post(f"{V}/composite/sobjects", json={
        "allOrNone": True, "records": [contact("A"), contact(None, FirstName="B")]}).json()
    assert rolled[0]["success"] is False
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled[1]["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING", "message":
                                    "Required fields are missing: [LastName]",
                                    "fields": ["LastName"]}]
    assert query(sf, "SELECT COUNT() FROM Contact").json()["totalSize"] == before
    partial = sf.post(f"{V}/composite/sobjects", json={
        "records": [contact("A"), contact(None), contact("C", Email="not-an-email")]}).json()
    assert [r["success"] for r in partial] == [True, False, False]
    assert partial[2]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert query(sf, "SELECT COUNT() FROM Contact").json()["totalSize"] == before + 1
    too_many = sf.post(f"{V}/composite/sobjects", json={"records": [contact("x")] * 201})
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    updated = sf.patch(f"{V}/composite/sobjects", json={"records": [
        {"attributes": {"type": "Contact"}, "id": partial[0]["id"], "Title": "Boss"},
        {"attributes": {"type": "Contact"}, "id": id18("0035g0000000007"), "Title": "Intern"}]})
    assert [r["success"] for r in updated.json()] == [True, True]
    upserted = sf.patch(f"{V}/composite/sobjects/Contact/External_Id__c", json={"records": [
        {"attributes": {"type": "Contact"}, "External_Id__c": "EXT-003-00000009", "Title": "X"},
        {"attributes": {"type": "Contact"}, "External_Id__c": "NEW-9", "LastName": "New"}]})
    assert [r["created"] for r in upserted.json()] == [False, True]
    read = sf.get(f"{V}/composite/sobjects/Contact", params={
        "ids": f"{partial[0]['id']},{id18('0035g0000000007')}", "fields": "Title"}).json()
    assert [r["Title"] for r in read] == ["Boss", "Intern"]
    assert sf.delete(f"{V}/sobjects/Contact/{partial[0]['id']}").status_code == 204
    deleted = sf.delete(f"{V}/composite/sobjects",
                        params={"ids": f"{partial[0]['id']},{id18('0035g0000000007')}"}).json()
    assert [r["success"] for r in deleted] == [False, True]
    assert deleted[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    # two created (A, NEW-9), two deleted
    assert query(sf, "SELECT COUNT() FROM Contact").json()["totalSize"] == before + 2 - 2


def test_updated_and_deleted_replication(sf: httpx.Client) -> None:
    window = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:05:30Z"}
    updated = sf.get(f"{V}/sobjects/Account/updated/", params=window).json()
    assert updated == {"ids": [id18(f"0015g000000000{i}") for i in range(5)],
                       "latestDateCovered": "2024-01-01T00:05:00.000+0000"}
    victim = id18("0015g0000000003")
    assert sf.delete(f"{V}/sobjects/Account/{victim}").status_code == 204
    assert victim not in sf.get(f"{V}/sobjects/Account/updated/", params=window).json()["ids"]
    recent = {"start": "2025-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    gone = sf.get(f"{V}/sobjects/Account/deleted/", params=recent).json()["deletedRecords"]
    assert [g["id"] for g in gone] == [victim]


_ACK = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
        b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse'
        b' xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
        b"</notificationsResponse></soapenv:Body></soapenv:Envelope>")


def _soap_ack(call: Received) -> tuple[int, dict[str, str], bytes]:
    """What a listener answers an Outbound Message it accepted."""
    return 200, {"Content-Type": "text/xml"}, _ACK


NS = {"soap": "http://schemas.xmlsoap.org/soap/envelope/",
      "om": "http://soap.sforce.com/2005/09/outbound",
      "sf": "urn:sobject.enterprise.soap.sforce.com"}


def test_outbound_message_envelope_is_verifiable(box: Any, sandbox: SandboxServer,
                                                 receiver: Receiver) -> None:
    headers, body = webhook_delivery(box, "https://hooks.example/sf?token=t", {
        "object": "Contact", "records": [{"Id": id18("0035g0000000001"), "Email": "a&b@x.org",
                                          "HasOptedOutOfEmail": False, "Title": None}]})
    assert headers == {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    notifications = ET.fromstring(body).find("soap:Body/om:notifications", NS)
    assert notifications is not None
    org_id = box.state_as(SalesforceState).org_id
    assert notifications.findtext("om:OrganizationId", namespaces=NS) == org_id
    sobject = notifications.find("om:Notification/om:sObject", NS)
    assert sobject is not None
    assert sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "sf:Contact"
    assert [(child.tag.split("}")[1], child.text) for child in sobject] == [
        ("Id", id18("0035g0000000001")), ("Email", "a&b@x.org"),
        ("HasOptedOutOfEmail", "false"), ("Title", None)]
    pure = outbound_message("00D", "04k", [("04l", "Lead", {"Id": "00Q"})],
                            enterprise_url="e", partner_url="p")
    assert b'<SessionId xsi:nil="true"/>' in pure and b'xsi:type="sf:Lead"' in pure

    secret = box.webhook_secret
    receiver.reply = _soap_ack
    sent = httpx.post(sandbox.url + "/salesforce/_sandbox/webhooks/deliver", json={
        "url": f"{receiver.url}/sf?token={secret}", "payload": {"object": "Account"}}).json()
    assert sent["status_code"] == 200 and "<Ack>true</Ack>" in sent["response_body"]
    call = receiver.calls[0]
    path, got_headers, got_body = call.path, call.headers, call.body
    # What Connectus does: constant-time compare of the URL token, then the org id.
    assert hmac.compare_digest(parse_qs(urlsplit(path).query)["token"][0], secret)
    assert got_headers["Content-Type"] == "text/xml; charset=utf-8"
    got = ET.fromstring(got_body).find("soap:Body/om:notifications", NS)
    assert got is not None and got.findtext("om:OrganizationId", namespaces=NS) \
        == box.state_as(SalesforceState).org_id
    assert got.findtext("om:Notification/om:sObject/sf:Id", namespaces=NS) == \
        id18("0015g0000000000")


class _PlainHttp(requests.Session):
    """simple-salesforce always builds https:// URLs; the sandbox speaks plain http."""

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        return super().request(method, text.replace("https://", "http://", 1), *args, **kwargs)


def test_simple_salesforce_reads_and_writes_what_the_sandbox_serves(
        small: None, sandbox: SandboxServer, sf: httpx.Client) -> None:
    host = urlsplit(sandbox.url).netloc
    # instance_url keeps only host:port, dropping the /salesforce mount, so pass instance=.
    client = Salesforce(instance=f"{host}/salesforce", session_id=DEMO_TOKEN, version="62.0",
                        session=_PlainHttp())
    result = client.query_all("SELECT Id, Email FROM Contact")
    sdk_ids = [r["Id"] for r in result["records"]]
    assert result["totalSize"] == 2345 and len(set(sdk_ids)) == 2345
    raw: list[str] = []
    page = query(sf, "SELECT Id FROM Contact").json()
    while True:
        raw += [r["Id"] for r in page["records"]]
        if page["done"]:
            break
        page = sf.get(page["nextRecordsUrl"]).json()
    assert sdk_ids == raw
    assert client.api_usage["api-usage"].used >= 2

    made = client.Contact.create({"LastName": "Turing", "Email": "alan@example.org"})
    assert made["success"] is True
    assert client.Contact.get(made["id"])["Email"] == "alan@example.org"
    batch = client.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Lead"}, "LastName": "Hopper", "Company": "Navy"},
        {"attributes": {"type": "Lead"}, "LastName": "Liskov"}]})
    assert [r["success"] for r in batch] == [True, False]
    fresh = query(sf, "SELECT LastName FROM Lead WHERE SystemModstamp > 2025-01-01T00:00:00Z")
    assert [r["LastName"] for r in fresh.json()["records"]] == ["Hopper"]


def test_the_sandbox_org_has_the_daily_allocation_the_catalogue_shows() -> None:
    """One figure: the demo's connection test reports what the catalogue and the budget use."""
    from connectors.registry import connector_spec
    from connectors.sandbox.salesforce.state import DEFAULT_ALLOCATION

    spec = connector_spec("salesforce")
    assert spec is not None and spec.rate_limit.daily == DEFAULT_ALLOCATION
