"""The HubSpot connector against its simulator: paging, deltas, writes, faults, webhooks."""

import json
import time

import pytest

from connectors.cursors import to_iso
from connectors.errors import ReconnectNeeded
from connectors.providers.hubspot import signature_v3
from connectors.request import Request
from connectors.sandbox.kit import EPOCH, Faults
from connectors.spec import WebhookRequest
from connectors.webhooks import WebhookRejected
from tests.connectors.conftest import Recorder, oauth_tokens

DEMO = {"access_token": "sandbox"}


def _count(sandbox, n: int) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": n, "companies": 30, "deals": 30}
    box.reset()


async def test_reads_every_contact_to_the_last_page(sandbox, connect) -> None:
    _count(sandbox, 345)
    connector = connect("hubspot", DEMO)
    pages = [page async for page in connector.pages("contacts")]
    ids = [r["id"] for page in pages for r in page.records]
    assert len(ids) == 345 and len(set(ids)) == 345
    assert len(pages) == 4  # 100 a page
    assert pages[-1].resume is None and pages[0].resume is not None
    assert pages[0].records[0]["properties"]["email"]


async def test_delta_reads_only_what_changed_since_the_cursor(sandbox, connect) -> None:
    _count(sandbox, 300)
    connector = connect("hubspot", DEMO)
    everything = await connector.read_all("contacts")
    cursor = to_iso(everything[249]["updatedAt"])
    changed = await connector.read_all("contacts", since=cursor)
    assert [r["id"] for r in changed] == [r["id"] for r in everything[249:]]
    box = sandbox.sandboxes["hubspot"]
    assert any(r["path"].endswith("/search") for r in box.requests)


async def test_batch_upsert_in_batches_of_100_then_read_back(sandbox, connect) -> None:
    _count(sandbox, 10)
    connector = connect("hubspot", DEMO)
    since = to_iso(time.time() - 5)
    records = [{"email": f"new{i}@example.com", "firstname": f"New{i}"} for i in range(150)]
    result = await connector.write("contacts.upsert", records)
    assert (result.ok, result.failed) == (150, 0)
    writes = [r for r in sandbox.sandboxes["hubspot"].requests
              if r["path"].endswith("/batch/upsert")]
    assert len(writes) == 2
    changed = await connector.read_all("contacts", since=since)
    assert {r["properties"]["email"] for r in changed} >= {r["email"] for r in records}


async def test_a_429_storm_is_ridden_out_with_retry_after(sandbox, connect) -> None:
    _count(sandbox, 250)
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_429=0.5, retry_after_s=0))
    recorder = Recorder()
    connector = connect("hubspot", DEMO, observer=recorder)
    ids = {r["id"] for r in await connector.read_all("contacts")}
    assert len(ids) == 250
    limited = [e for e in recorder.errors if e.category == "rate_limited"]
    assert limited, "the storm should have been seen and recorded"


async def test_5xx_are_retried(sandbox, connect) -> None:
    _count(sandbox, 200)
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=0.3))
    recorder = Recorder()
    connector = connect("hubspot", DEMO, observer=recorder)
    assert len(await connector.read_all("contacts")) == 200
    assert any(e.category == "provider_down" for e in recorder.errors)


async def test_token_expiring_mid_stream_is_refreshed_and_saved(sandbox, connect) -> None:
    _count(sandbox, 500)
    sandbox.sandboxes["hubspot"].set_faults(Faults(token_expiry_calls=2))
    credentials = await oauth_tokens(sandbox, "hubspot")
    saved: list[dict] = []

    async def save(new: dict) -> None:
        saved.append(new)

    connector = connect("hubspot", credentials, save_credentials=save)
    pages = [p async for p in connector.pages("contacts")]
    assert sum(len(p.records) for p in pages) == 500
    assert saved and saved[-1]["access_token"] != credentials["access_token"]
    assert saved[-1]["refresh_token"] == credentials["refresh_token"]


async def test_bad_credentials_say_reconnect(sandbox, connect) -> None:
    connector = connect("hubspot", {"access_token": "wrong-token"})
    diagnosis = await connector.test_connection()
    assert not diagnosis.ok
    assert diagnosis.action and diagnosis.action.startswith("Reconnect")
    assert diagnosis.details["http_status"] == 401
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("contacts")


async def test_connection_test_succeeds_with_the_demo_token(sandbox, connect) -> None:
    diagnosis = await connect("hubspot", DEMO).test_connection()
    assert diagnosis.ok, diagnosis.message
    assert "HubSpot" in diagnosis.message


def _delivery(sandbox, url: str) -> WebhookRequest:
    from connectors.sandbox.hubspot import webhook_delivery

    events = [{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 51,
               "portalId": 62515, "occurredAt": (EPOCH + 5) * 1000}]
    headers, body = webhook_delivery(sandbox.sandboxes["hubspot"], url, events)
    return WebhookRequest("POST", url, {k.lower(): v for k, v in headers.items()}, body)


async def test_signed_webhook_is_accepted_and_a_forged_one_rejected(sandbox, connect) -> None:
    url = "https://connectus.example/webhooks/hubspot/abc?x=1"
    connector = connect("hubspot", {**DEMO, "client_secret": "sandbox-secret"})
    good = _delivery(sandbox, url)
    events = connector.verify_webhook(good)
    assert [e.event_type for e in events] == ["contact.creation"]
    assert json.loads(good.body)[0]["objectId"] == 51

    tampered = WebhookRequest(good.method, good.url, good.headers,
                              good.body.replace(b"51", b"52"))
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(tampered)
    wrong_url = WebhookRequest(good.method, url + "&y=2", good.headers, good.body)
    with pytest.raises(WebhookRejected):
        connector.verify_webhook(wrong_url)


def test_signature_matches_hubspots_published_vector() -> None:
    assert signature_v3("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST",
                        "https://www.example.com/webhook_uri",
                        b"{'example_field':'example_value'}", "1693657560000") == \
        "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="


async def test_a_record_changed_mid_sync_is_caught_by_the_next_delta(sandbox, connect) -> None:
    _count(sandbox, 300)
    sandbox.sandboxes["hubspot"].set_faults(Faults(mutate_after_calls=2))
    connector = connect("hubspot", DEMO)
    pages = [p async for p in connector.pages("contacts")]
    first_id = pages[0].records[0]["id"]
    cursor = max(p.cursor for p in pages if p.cursor)
    changed = await connector.read_all("contacts", since=cursor)
    assert first_id in {r["id"] for r in changed}  # changed after we had read it


async def test_a_million_contacts_cost_nothing_until_read(sandbox, connect) -> None:
    _count(sandbox, 1_000_000)
    connector = connect("hubspot", DEMO)
    first = await anext(connector.pages("contacts"))
    assert len(first.records) == 100
    # the newest 150 of a million, found by a delta without reading the rest
    newest = EPOCH + (1_000_000 - 150) * 60
    tail = await connector.read_all("contacts", since=to_iso(newest))
    assert len(tail) == 150


async def test_a_delta_past_the_search_cap_yields_each_record_once(sandbox, connect) -> None:
    _count(sandbox, 12_000)
    connector = connect("hubspot", DEMO)
    changed = await connector.read_all("contacts", since=to_iso(EPOCH - 60))
    ids = [r["id"] for r in changed]
    assert len(ids) == 12_000 and len(set(ids)) == 12_000
    assert ids == sorted(ids, key=int)  # oldest change first, no record out of place


def test_re_windowing_keeps_records_that_share_the_boundary_timestamp() -> None:
    from connectors.providers.hubspot import SearchPages

    pager = SearchPages("lastmodifieddate")
    stamp = "2024-01-01T00:00:00.000Z"
    request = pager.first(Request("POST", "/crm/v3/objects/contacts/search", json={
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                       "operator": "GTE", "value": "0"}]}]}), 200)
    at_cap = {"results": [{"id": "1", "updatedAt": "2023-12-31T23:59:59.000Z"},
                          {"id": "2", "updatedAt": stamp}, {"id": "3", "updatedAt": stamp}],
              "paging": {"next": {"after": "9900"}}}
    window = pager.next(request, at_cap)
    assert window is not None and "after" not in window.json
    filters = window.json["filterGroups"][0]["filters"]
    # the same timestamp again (a fourth record may share it), minus the two already read
    assert {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1704067200000"} \
        in filters
    assert {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": ["2", "3"]} \
        in filters
    # a second re-window at the very same timestamp keeps excluding the first window's ids
    again = pager.next(window, {"results": [{"id": "4", "updatedAt": stamp}],
                                "paging": {"next": {"after": "9900"}}})
    assert again is not None
    excluded = next(f for f in again.json["filterGroups"][0]["filters"]
                    if f["operator"] == "NOT_IN")
    assert excluded["values"] == ["2", "3", "4"]
