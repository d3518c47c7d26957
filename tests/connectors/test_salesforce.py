"""The Salesforce connector against its simulator: SOQL paging, deltas, collections, limits,
token refresh and Outbound Message webhooks."""

import time

import httpx
import pytest

from connectors.cursors import to_iso
from connectors.errors import ReconnectNeeded
from connectors.providers.salesforce import SPEC
from connectors.quota import Priority
from connectors.sandbox.kit import Faults
from connectors.sandbox.salesforce import SalesforceState
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from tests.connectors.conftest import Recorder, oauth_tokens

ORG = "00D000000000001EAA"
DEMO = {"access_token": "sandbox", "client_id": "sandbox-client",
        "client_secret": "sandbox-secret", "webhook_secret": "sandbox-webhook-secret"}
SETTINGS = {"org_id": ORG}
V = "/services/data/v62.0"


def _count(sandbox, monkeypatch, **counts: int) -> None:
    box = sandbox.sandboxes["salesforce"]
    wanted = {"Account": 0, "Contact": 0, "Lead": 0, "Opportunity": 0, **counts}
    monkeypatch.setattr(box, "counts_override", wanted)  # restored after the test
    box.reset()


def _demo(sandbox) -> dict:
    return {**DEMO, "instance_url": sandbox.url + "/salesforce"}


async def test_reads_every_object_to_the_last_page(sandbox, connect, monkeypatch) -> None:
    counts = {"Account": 450, "Contact": 650, "Lead": 7, "Opportunity": 0}
    _count(sandbox, monkeypatch, **counts)
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    for stream, sobject in (("accounts", "Account"), ("contacts", "Contact"),
                            ("leads", "Lead"), ("opportunities", "Opportunity")):
        pages = [p async for p in connector.pages(stream, page_size=200)]
        ids = [r["Id"] for p in pages for r in p.records]
        assert len(ids) == counts[sobject] and len(set(ids)) == len(ids), stream
        assert len(pages) == max(1, -(-counts[sobject] // 200))  # batchSize header honoured
        assert pages[-1].resume is None
    contacts = [p async for p in connector.pages("contacts", page_size=200)]
    assert contacts[0].records[0]["Email"] and contacts[0].cursor
    assert contacts[0].cursor <= contacts[1].cursor  # ordered by SystemModstamp
    queries = [r for r in sandbox.sandboxes["salesforce"].requests
               if r["path"].endswith("/query")]
    assert all("ORDER BY SystemModstamp ASC" in r["query"]["q"] for r in queries)


async def test_delta_reads_only_what_changed_since_the_cursor(sandbox, connect,
                                                              monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=650)
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    everything = await connector.read_all("contacts")
    cursor = to_iso(everything[400]["SystemModstamp"])
    changed = await connector.read_all("contacts", since=cursor, page_size=200)
    assert [r["Id"] for r in changed] == [r["Id"] for r in everything[400:]]
    delta = [r for r in sandbox.sandboxes["salesforce"].requests
             if r["path"].endswith("/queryAll")]
    assert delta and "WHERE SystemModstamp >= " in delta[0]["query"]["q"]


async def test_a_deleted_record_shows_up_in_the_delta(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=30)
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    victim = (await connector.read_all("contacts"))[3]["Id"]
    since = to_iso(time.time() - 2)
    async with httpx.AsyncClient(base_url=sandbox.url + "/salesforce",
                                 headers={"Authorization": "Bearer sandbox"}) as sf:
        assert (await sf.delete(f"{V}/sobjects/Contact/{victim}")).status_code == 204
    changed = await connector.read_all("contacts", since=since)
    assert [(r["Id"], r["IsDeleted"]) for r in changed] == [(victim, True)]


async def test_collections_create_in_batches_of_200_then_read_back(sandbox, connect,
                                                                   monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=10)
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    since = to_iso(time.time() - 2)
    records = [{"LastName": f"New{i}", "Email": f"new{i}@example.com"} for i in range(250)]
    records[7] = {"Email": "nolastname@example.com"}  # refused by Salesforce, alone
    result = await connector.write("contacts.create", records)
    assert (result.ok, result.failed) == (249, 1)
    assert result.errors[0]["code"] == "REQUIRED_FIELD_MISSING"
    assert result.errors[0]["index"] == 7 and len(result.ids) == 249
    assert set(result.refused) == {7} and "REQUIRED_FIELD_MISSING" in result.refused[7]
    assert sorted(result.written) == [i for i in range(250) if i != 7]
    calls = [r for r in sandbox.sandboxes["salesforce"].requests
             if r["path"].endswith("/composite/sobjects") and r["method"] == "POST"]
    assert len(calls) == 2
    changed = await connector.read_all("contacts", since=since)
    assert {r["Email"] for r in changed} == {r["Email"] for r in records if "LastName" in r}

    update = await connector.write("contacts.update",
                                   [{"Id": result.ids[0], "Title": "CTO"},
                                    {"Id": "003000000000000AAA", "Title": "x"}])
    assert (update.ok, update.failed) == (1, 1)
    assert update.written == {0: result.ids[0]} and set(update.refused) == {1}


async def test_upsert_by_external_id(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, Account=5)
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    since = to_iso(time.time() - 2)
    result = await connector.write("accounts.upsert", [
        {"External_Id__c": "EXT-001-00000001", "Industry": "Retail"},  # exists: updated
        {"External_Id__c": "CX-NEW-1", "Name": "Brand New Ltd"}])      # created
    assert (result.ok, result.failed) == (2, 0)
    upserts = [r for r in sandbox.sandboxes["salesforce"].requests
               if r["path"].endswith("/composite/sobjects/Account/External_Id__c")]
    assert len(upserts) == 1
    changed = await connector.read_all("accounts", since=since)
    assert {r["Name"] for r in changed} >= {"Brand New Ltd"}
    assert [r["Industry"] for r in changed if r["Name"] != "Brand New Ltd"] == ["Retail"]


async def test_concurrency_limit_storm_is_ridden_out(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=650)
    sandbox.sandboxes["salesforce"].set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("salesforce", _demo(sandbox), SETTINGS, observer=recorder)
    ids = {r["Id"] for r in await connector.read_all("contacts", page_size=200)}
    assert len(ids) == 650
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited and limited[0].provider_code == "REQUEST_LIMIT_EXCEEDED"
    assert limited[0].http_status == 403


async def test_5xx_are_retried(sandbox, connect, monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=650)
    sandbox.sandboxes["salesforce"].set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("salesforce", _demo(sandbox), SETTINGS, observer=recorder)
    assert len(await connector.read_all("contacts", page_size=200)) == 650
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_daily_allocation_used_up_is_quota_exhausted(sandbox, connect,
                                                           monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=10)
    box = sandbox.sandboxes["salesforce"]
    box.state_as(SalesforceState).daily_api_allocation = 2
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    first = await connector.test_connection()
    assert first.ok and "1 of 2 daily API requests left" in first.message
    assert first.details["quota"]["provider_remaining_fraction"] == 0.5  # Sforce-Limit-Info
    await connector.read_all("contacts")
    # the header now says 0 left: a sync stops before calling; a chat call asks Salesforce
    held = await connector.test_connection()
    assert not held.ok and held.details["category"] == "quota_exhausted"
    assert box.calls == 2
    chat = connect("salesforce", _demo(sandbox), SETTINGS, priority=Priority.chat)
    spent = await chat.test_connection()
    assert not spent.ok and spent.details["category"] == "quota_exhausted"
    assert spent.details["provider_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "rolling 24-hour" in spent.message and "rolling 24-hour" in (spent.action or "")


async def test_expired_session_mid_stream_is_refreshed_and_saved(sandbox, connect,
                                                                 monkeypatch) -> None:
    _count(sandbox, monkeypatch, Contact=1000)
    sandbox.sandboxes["salesforce"].set_faults(Faults(token_expiry_calls=2))
    credentials = await oauth_tokens(sandbox, "salesforce")
    assert "expires_at" not in credentials  # Salesforce sends no expires_in
    assert credentials["instance_url"] == f"{sandbox.url}/salesforce"
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(new)

    connector = connect("salesforce", credentials, save_credentials=save)
    records = await connector.read_all("contacts", page_size=200)
    assert len({r["Id"] for r in records}) == 1000
    assert saved and saved[-1]["access_token"] != credentials["access_token"]
    assert saved[-1]["refresh_token"] == credentials["refresh_token"]
    assert saved[-1]["instance_url"] == credentials["instance_url"]


async def test_bad_credentials_say_reconnect(sandbox, connect) -> None:
    connector = connect("salesforce", {**_demo(sandbox), "access_token": "wrong-token"},
                        SETTINGS)
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")
    assert diagnosis.details["http_status"] == 401
    assert diagnosis.details["provider_message"] == "Session expired or invalid"
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("accounts")


async def test_connection_test_succeeds_with_the_demo_credentials(sandbox, connect) -> None:
    demo = SPEC.sandbox_demo
    credentials = {k: v.format(sandbox_url=sandbox.url) for k, v in demo["credentials"].items()}
    diagnosis = await connect("salesforce", credentials, demo["settings"]).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "daily API requests left" in diagnosis.message


def _delivery(sandbox, url: str) -> WebhookRequest:
    from connectors.sandbox.salesforce import webhook_delivery

    payload = {"object": "Contact", "records": [
        {"Id": "0035g00000A1b2cAAB", "LastName": "Hopper", "Email": "grace@example.com"},
        {"Id": "0035g00000A1b2dAAB", "LastName": "Lovelace", "Email": None}]}
    headers, body = webhook_delivery(sandbox.sandboxes["salesforce"], url, payload)
    return WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)


async def test_outbound_message_is_verified_and_a_forged_one_rejected(sandbox, connect) -> None:
    url = "https://connectus.example/webhooks/salesforce/abc?token=sandbox-webhook-secret"
    connector = connect("salesforce", _demo(sandbox), SETTINGS)
    good = _delivery(sandbox, url)
    events = connector.verify_webhook(good)
    assert [e.event_type for e in events] == ["Contact.outbound_message"] * 2
    assert len({e.event_id for e in events}) == 2 and events[0].event_id.startswith("04l")
    assert events[0].payload["record"]["Email"] == "grace@example.com"
    assert events[1].payload["record"]["Email"] is None
    assert events[0].payload["organization_id"] == ORG

    wrong_token = WebhookRequest("POST", url.replace("secret", "guess"), good.headers, good.body)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(wrong_token)
    other_org = connect("salesforce", _demo(sandbox), {"org_id": "00D000000000002AAA"})
    with pytest.raises(WebhookRejected):
        other_org.verify_webhook(good)
    dtd = good.body.replace(b"<soapenv:Envelope", b'<!DOCTYPE x [<!ENTITY a "b">]>'
                            b"<soapenv:Envelope", 1)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(WebhookRequest("POST", url, good.headers, dtd))
    no_secret = connect("salesforce", {"access_token": "sandbox",
                                       "instance_url": f"{sandbox.url}/salesforce"}, SETTINGS)
    with pytest.raises(WebhookRejected):
        no_secret.verify_webhook(good)


async def test_org_id_may_come_from_the_identity_url_or_be_15_characters(sandbox,
                                                                        connect) -> None:
    url = "https://connectus.example/hook?token=sandbox-webhook-secret"
    good = _delivery(sandbox, url)
    identity = {**_demo(sandbox), "id": f"https://login.salesforce.com/id/{ORG}/005000000000001AAA"}
    assert len(connect("salesforce", identity).verify_webhook(good)) == 2
    short = connect("salesforce", _demo(sandbox), {"org_id": ORG[:15]})
    assert len(short.verify_webhook(good)) == 2
