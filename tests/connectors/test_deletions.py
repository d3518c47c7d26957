"""Deletions found cheaply: the provider's own deleted/archived reads where it has them, and
an id-only scan where it does not, which never vouches for a list it did not finish."""

import time

import httpx
import pytest

from connectors.cursors import to_iso
from connectors.errors import ProviderDown, ScanIncomplete
from store.errors import ValidationFailed

HUBSPOT = {"access_token": "sandbox"}
LIST = "4ca5becb8d"
MAILCHIMP = {"api_key": "sandbox-us1"}
SALESFORCE = {"access_token": "sandbox", "client_id": "sandbox-client",
              "client_secret": "sandbox-secret"}


class Bytes:
    """An httpx client that counts the calls it makes and the body bytes it receives."""

    def __init__(self) -> None:
        self.calls = 0
        self.received = 0
        self.client = httpx.AsyncClient(event_hooks={"response": [self._count]})

    async def _count(self, response: httpx.Response) -> None:
        await response.aread()
        self.calls += 1
        self.received += len(response.content)


def _hubspot(sandbox, contacts: int) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": contacts, "companies": 5, "deals": 5}
    box.reset()


def _mailchimp(sandbox, monkeypatch, members: int) -> None:
    box = sandbox.sandboxes["mailchimp"]
    monkeypatch.setattr(box, "counts_override", {LIST: members, "8d3c9a1f27": 5,
                                                 "b5e0f1d2c3": 0})
    box.reset()


def _salesforce(sandbox, monkeypatch, contacts: int) -> dict:
    box = sandbox.sandboxes["salesforce"]
    monkeypatch.setattr(box, "counts_override", {"Account": 0, "Contact": contacts, "Lead": 0,
                                                 "Opportunity": 0})
    box.reset()
    return {**SALESFORCE, "instance_url": sandbox.url + "/salesforce"}


async def _delete(connector, path: str, **kw) -> None:
    """Through the simulator's own API, as a person deleting in the provider's UI would."""
    auth = ({"auth": ("any", MAILCHIMP["api_key"])} if connector.spec.name == "mailchimp"
            else {"headers": {"Authorization": "Bearer sandbox"}})
    async with httpx.AsyncClient() as client:
        response = await client.request(kw.pop("method", "DELETE"),
                                        connector.base_url() + path, **auth, **kw)
    assert response.status_code < 300, response.text


async def test_hubspot_archived_contacts_come_back_with_their_time(sandbox, connect) -> None:
    _hubspot(sandbox, 250)
    connector = connect("hubspot", HUBSPOT)
    before = to_iso(time.time() - 1)
    ids = sorted(await connector.all_ids("contacts"), key=int)
    for gone in (ids[3], ids[200]):
        await _delete(connector, f"/crm/v3/objects/contacts/{gone}")
    found = [d async for page in connector.deleted_since("contacts", before) for d in page]
    assert sorted(d.id for d in found) == sorted([ids[3], ids[200]])
    assert all(d.at and d.at >= before for d in found)
    later = [d async for page in connector.deleted_since("contacts", to_iso(time.time() + 5))
             for d in page]
    assert later == []  # HubSpot's archive list has no time filter: ours drops the old ones


async def test_an_id_scan_finds_what_was_deleted_and_only_that(sandbox, connect) -> None:
    _hubspot(sandbox, 420)
    connector = connect("hubspot", HUBSPOT)
    known = set(await connector.all_ids("contacts"))
    assert len(known) == 420
    victim = sorted(known, key=int)[321]
    await _delete(connector, f"/crm/v3/objects/contacts/{victim}")
    assert await connector.vanished("contacts", known) == {victim}


async def test_an_id_scan_costs_far_less_than_a_full_read(sandbox, connect) -> None:
    _hubspot(sandbox, 500)
    full, scan = Bytes(), Bytes()
    reader = connect("hubspot", HUBSPOT, http=full.client)
    scanner = connect("hubspot", HUBSPOT, http=scan.client)
    assert len(await reader.read_all("contacts")) == 500
    assert len(await scanner.all_ids("contacts")) == 500
    # HubSpot pages by 100 either way and always adds its timestamps and bookkeeping
    # properties, so the saving is the rest of each record (about 40% of the bytes)
    assert scan.calls == full.calls
    assert scan.received < full.received * 0.7, (scan.received, full.received)
    await full.client.aclose()
    await scan.client.aclose()


async def test_a_mailchimp_id_scan_reads_ids_alone(sandbox, connect, monkeypatch) -> None:
    _mailchimp(sandbox, monkeypatch, 2500)
    full, scan = Bytes(), Bytes()
    reader = connect("mailchimp", MAILCHIMP, {"list_id": LIST}, http=full.client)
    scanner = connect("mailchimp", MAILCHIMP, {"list_id": LIST}, http=scan.client)
    records = await reader.read_all("members")
    ids = await scanner.all_ids("members")
    assert ids == {r["id"] for r in records} and len(ids) == 2500
    assert scan.calls == full.calls and scan.received * 10 < full.received
    await full.client.aclose()
    await scan.client.aclose()


async def test_mailchimp_archived_members_and_permanent_deletes(sandbox, connect,
                                                                monkeypatch) -> None:
    _mailchimp(sandbox, monkeypatch, 300)
    connector = connect("mailchimp", MAILCHIMP, {"list_id": LIST})
    before = to_iso(time.time() - 1)
    known = set(await connector.all_ids("members"))
    archived, erased = sorted(known)[:2]
    await _delete(connector, f"/lists/{LIST}/members/{archived}")
    await _delete(connector, f"/lists/{LIST}/members/{erased}/actions/delete-permanent",
                  method="POST")
    found = [d async for page in connector.deleted_since("members", before) for d in page]
    assert [d.id for d in found] == [archived]  # the archive keeps it; a permanent delete not
    assert await connector.vanished("members", known) == {archived, erased}


async def test_salesforce_recycle_bin_and_id_scan(sandbox, connect, monkeypatch) -> None:
    full, scan = Bytes(), Bytes()
    credentials = _salesforce(sandbox, monkeypatch, 700)
    assert len(await connect("salesforce", credentials, http=full.client).read_all(
        "contacts")) == 700
    connector = connect("salesforce", credentials, http=scan.client)
    before = to_iso(time.time() - 2)
    known = set(await connector.all_ids("contacts"))
    assert len(known) == 700 and scan.received * 2 < full.received
    victim = sorted(known)[450]
    await _delete(connector, f"/services/data/v62.0/sobjects/Contact/{victim}")
    found = [d async for page in connector.deleted_since("contacts", before) for d in page]
    assert [d.id for d in found] == [victim] and found[0].at
    assert await connector.vanished("contacts", known) == {victim}
    await full.client.aclose()
    await scan.client.aclose()


async def test_an_interrupted_scan_never_yields_a_complete_set(sandbox, connect) -> None:
    _hubspot(sandbox, 600)
    connector = connect("hubspot", HUBSPOT)
    pages = []
    with pytest.raises(ProviderDown):
        async for page in connector.scan_ids("contacts"):
            pages.append(page)
            if len(pages) == 2:  # the provider starts failing after some calls
                async with httpx.AsyncClient() as control:
                    await control.post(f"{sandbox.url}/hubspot/_sandbox/faults",
                                       json={"rate_5xx": 1})
    assert len(pages) == 2 and not any(p.complete for p in pages)
    with pytest.raises(ProviderDown):
        await connector.vanished("contacts", {"1"})


async def test_a_list_that_shifts_under_an_offset_scan_is_not_trusted(sandbox, connect,
                                                                       monkeypatch) -> None:
    """Mailchimp pages by offset: a delete mid-scan moves every later member one place
    up, so one is never seen. The provider's total_items gives it away."""
    _mailchimp(sandbox, monkeypatch, 2500)
    connector = connect("mailchimp", MAILCHIMP, {"list_id": LIST})
    pages = []
    with pytest.raises(ScanIncomplete):
        async for page in connector.scan_ids("members"):
            pages.append(page)
            if len(pages) == 1:
                await _delete(connector, f"/lists/{LIST}/members/{page.ids[0]}")
    assert not any(p.complete for p in pages)


async def test_streams_without_either_path_say_so(sandbox, connect) -> None:
    connector = connect("slack", {"access_token": "xoxb-sandbox"})
    with pytest.raises(ValidationFailed, match="id scan"):
        [p async for p in connector.scan_ids("users")]
    with pytest.raises(ValidationFailed, match="does not serve deleted"):
        [p async for p in connector.deleted_since("users", "2024-01-01T00:00:00Z")]


def test_every_stream_says_which_deletion_path_it_has() -> None:
    from connectors.registry import connector_spec

    paths = {}
    for provider in ("hubspot", "salesforce", "mailchimp"):
        spec = connector_spec(provider)
        assert spec is not None
        for stream in spec.streams:
            paths[f"{provider}.{stream.name}"] = stream.describe()["deletions"]
    assert paths["hubspot.contacts"] == "provider" and paths["mailchimp.lists"] is None
    assert all(paths[f"salesforce.{s}"] == "provider"
               for s in ("accounts", "contacts", "leads", "opportunities"))
