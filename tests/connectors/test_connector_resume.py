"""Connector.pages as the sync engine will drive it: a page's ``resume`` is a checkpoint that
a new process (another Connector, after a JSON round trip through the database) continues
from, with or without a delta, without a gap or a repeat; the page cursor is the newest
change in the page; base URLs and placeholders come from settings."""

import asyncio
import json

import httpx
import pytest

from connectors.connector import Connector
from connectors.cursors import to_iso
from connectors.errors import ProviderError
from store.errors import ValidationFailed

DEMO = {"access_token": "sandbox"}
MAX_PAGES = 20  # far more than any read below needs: a resume that loops fails, not hangs


def _count(sandbox, n: int) -> None:
    box = sandbox.sandboxes["hubspot"]
    box.counts_override = {"contacts": n, "companies": 30, "deals": 30}
    box.reset()


def _checkpoint(resume: dict | None) -> dict:
    """What the sync engine stores and reads back: the resume request as JSON."""
    assert resume is not None
    return json.loads(json.dumps(resume))


async def _drain(connector: Connector, stream: str, **kw) -> list[list[dict]]:
    pages: list[list[dict]] = []
    async for page in connector.pages(stream, **kw):
        pages.append(page.records)
        assert len(pages) <= MAX_PAGES, "the read never ends: the same page keeps coming back"
    return pages


async def test_a_full_read_resumes_in_a_new_connector_after_the_checkpoint(sandbox,
                                                                           connect) -> None:
    _count(sandbox, 345)
    first = connect("hubspot", DEMO)
    stream = first.pages("contacts")
    page_one = await anext(stream)
    page_two = await anext(stream)
    await stream.aclose()
    checkpoint = _checkpoint(page_two.resume)

    rest = await _drain(connect("hubspot", DEMO), "contacts", resume=checkpoint)
    everything = await connect("hubspot", DEMO).read_all("contacts")
    resumed = [r["id"] for r in page_one.records + page_two.records] + \
        [r["id"] for page in rest for r in page]
    assert resumed == [r["id"] for r in everything]
    assert [len(p) for p in rest] == [100, 45]


async def test_a_delta_read_resumes_as_a_delta_in_a_new_connector(sandbox, connect) -> None:
    """HubSpot deltas page through the search API (the page token goes in the JSON body):
    resuming one must keep paging the search, not fall back to list paging."""
    _count(sandbox, 400)
    everything = await connect("hubspot", DEMO).read_all("contacts")
    since = to_iso(everything[99]["updatedAt"])
    expected = [r["id"] for r in everything[99:]]  # 301 changed since, oldest first

    first = connect("hubspot", DEMO)
    stream = first.pages("contacts", since=since)
    head = await anext(stream)
    await stream.aclose()
    assert len(head.records) == 100
    checkpoint = _checkpoint(head.resume)

    box = sandbox.sandboxes["hubspot"]
    before = len(box.requests)
    rest = await _drain(connect("hubspot", DEMO), "contacts", since=since, resume=checkpoint)
    got = [r["id"] for r in head.records] + [r["id"] for page in rest for r in page]
    assert got == expected
    assert all(r["path"].endswith("/contacts/search") for r in box.requests[before:])


async def test_resuming_the_last_page_reads_it_once_and_stops(sandbox, connect) -> None:
    _count(sandbox, 150)
    pages = [p async for p in connect("hubspot", DEMO).pages("contacts")]
    assert [len(p.records) for p in pages] == [100, 50]
    rest = await _drain(connect("hubspot", DEMO), "contacts", resume=_checkpoint(pages[0].resume))
    assert [r["id"] for page in rest for r in page] == [r["id"] for r in pages[1].records]


async def test_a_pages_cursor_is_its_newest_change(sandbox, connect) -> None:
    _count(sandbox, 250)
    pages = [p async for p in connect("hubspot", DEMO).pages("contacts", page_size=100)]
    for page in pages:
        newest = max(to_iso(r["updatedAt"]) for r in page.records)
        assert page.cursor == newest
    # the checkpoint of a whole read is the newest change of all: nothing newer is skipped
    assert max(p.cursor for p in pages) == to_iso(
        max(r["updatedAt"] for p in pages for r in p.records))


async def test_the_page_size_asked_for_is_the_page_size_sent(sandbox, connect) -> None:
    _count(sandbox, 120)
    pages = [p async for p in connect("hubspot", DEMO).pages("contacts", page_size=50)]
    assert [len(p.records) for p in pages] == [50, 50, 20]


def _answering(body: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=body)))


async def test_records_that_are_not_a_list_are_an_error_naming_the_stream(connect) -> None:
    connector = connect("hubspot", DEMO, http=_answering({"results": {"id": "1"}}))
    with pytest.raises(ProviderError, match="contacts without a list at 'results'") as info:
        await connector.read_all("contacts")
    assert info.value.provider == "hubspot"


async def test_a_page_without_records_is_an_empty_last_page(connect) -> None:
    connector = connect("hubspot", DEMO, http=_answering({}))
    pages = [p async for p in connector.pages("contacts")]
    assert len(pages) == 1 and pages[0].records == [] and pages[0].resume is None
    assert pages[0].cursor is None


async def test_a_base_url_setting_overrides_the_sandbox(connect) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"results": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    connector = connect("hubspot", DEMO, settings={"base_url": "https://crm.example/api/"},
                        http=http)
    await connector.read_all("contacts")
    assert seen and seen[0].startswith("https://crm.example/api/crm/v3/objects/contacts?")


async def test_a_missing_placeholder_setting_is_named(connect) -> None:
    with pytest.raises(ValidationFailed) as info:
        connect("mailchimp", {"api_key": "key-us6"}, settings={"base_url": "https://{region}.x"})
    assert info.value.message == "settings.region: mailchimp needs the setting 'region'"


async def test_a_sandbox_url_with_a_trailing_slash_reaches_the_simulator(sandbox,
                                                                        connect) -> None:
    _count(sandbox, 5)
    connector = connect("hubspot", DEMO, settings={"sandbox_url": sandbox.url + "/"})
    assert connector.client.base_url == sandbox.url + "/hubspot"
    assert len(await connector.read_all("contacts")) == 5


async def test_a_salesforce_delta_read_resumes_from_its_next_records_url(sandbox, connect,
                                                                         monkeypatch) -> None:
    from connectors.registry import connector_spec

    spec = connector_spec("salesforce")
    assert spec is not None
    box = sandbox.sandboxes["salesforce"]
    monkeypatch.setattr(box, "counts_override",
                        {"Account": 0, "Contact": 650, "Lead": 0, "Opportunity": 0})
    box.reset()
    credentials = {**spec.sandbox_demo["credentials"], "instance_url": sandbox.url + "/salesforce"}
    settings = spec.sandbox_demo["settings"]
    everything = await connect("salesforce", credentials, settings).read_all("contacts")
    since = to_iso(everything[200]["SystemModstamp"])
    stream = connect("salesforce", credentials, settings).pages("contacts", since=since,
                                                                 page_size=200)
    head = await anext(stream)
    await stream.aclose()
    rest = await _drain(connect("salesforce", credentials, settings), "contacts", since=since,
                        resume=_checkpoint(head.resume))
    got = [r["Id"] for r in head.records] + [r["Id"] for page in rest for r in page]
    assert got == [r["Id"] for r in everything[200:]]


def _two_pages(seen: list[str], second: int = 200) -> httpx.AsyncClient:
    """A first page that names a second, and a second answered with ``second``."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("after", "first"))
        if "after" not in request.url.params:
            return httpx.Response(200, json={"results": [{"id": "1"}],
                                             "paging": {"next": {"after": "2"}}})
        return httpx.Response(second, json={"results": [{"id": "2"}]})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_read_ahead_asks_for_the_next_page_before_the_caller_does(connect) -> None:
    seen: list[str] = []
    stream = connect("hubspot", DEMO, http=_two_pages(seen)).pages("contacts", read_ahead=True)
    first = await anext(stream)
    await asyncio.sleep(0.05)  # the caller is busy with the first page
    assert seen == ["first", "2"]
    assert [r["id"] for r in first.records] == ["1"]
    assert [r["id"] for r in (await anext(stream)).records] == ["2"]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert seen == ["first", "2"]  # one call a page: nothing read twice, nothing extra


async def test_without_read_ahead_a_caller_that_stops_spends_no_call(connect) -> None:
    seen: list[str] = []
    stream = connect("hubspot", DEMO, http=_two_pages(seen)).pages("contacts")
    await anext(stream)
    await asyncio.sleep(0.05)
    await stream.aclose()
    assert seen == ["first"]  # test_mapping's sample of one page costs one call


async def test_a_failed_page_read_ahead_fails_in_its_turn(connect) -> None:
    seen: list[str] = []
    stream = connect("hubspot", DEMO, http=_two_pages(seen, second=400)).pages(
        "contacts", read_ahead=True)
    first = await anext(stream)  # the page before the failure is still handed over
    assert [r["id"] for r in first.records] == ["1"]
    with pytest.raises(ProviderError):
        await anext(stream)


async def test_a_walk_left_early_ends_its_call_ahead_quietly(connect) -> None:
    seen: list[str] = []
    stream = connect("hubspot", DEMO, http=_two_pages(seen, second=400)).pages(
        "contacts", read_ahead=True)
    await anext(stream)
    await stream.aclose()  # the failing call ahead is nobody's failure
