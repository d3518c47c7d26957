"""Paginators, redaction and next-link safety: the small parts every connector relies on."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.cursors import newest_cursor, to_iso
from connectors.errors import BadRequest
from connectors.paginators import CursorParam, NextUrl, Offset
from connectors.request import Request, dig
from store.redact import redact


def test_offset_stops_at_the_total() -> None:
    pager = Offset(records_path="members")
    first = pager.first(Request("GET", "/lists/x/members"), 1000)
    assert first.params == {"offset": 0, "count": 1000}
    second = pager.next(first, {"members": [{}] * 1000, "total_items": 2500})
    assert second is not None and second.params["offset"] == 1000
    third = pager.next(second, {"members": [{}] * 1000, "total_items": 2500})
    assert third is not None and third.params["offset"] == 2000
    assert pager.next(third, {"members": [{}] * 500, "total_items": 2500}) is None


def test_cursor_param_ends_on_an_empty_cursor() -> None:
    pager = CursorParam("response_metadata.next_cursor", "cursor")
    request = pager.first(Request("GET", "/conversations.list"), 200)
    assert pager.next(request, {"response_metadata": {"next_cursor": ""}}) is None
    nxt = pager.next(request, {"response_metadata": {"next_cursor": "abc"}})
    assert nxt is not None and nxt.params == {"limit": 200, "cursor": "abc"}


def test_graph_style_paging_needs_a_next_link() -> None:
    pager = CursorParam("paging.cursors.after", "after", stop_unless="paging.next")
    request = pager.first(Request("GET", "/act_1/campaigns"), 25)
    assert pager.next(request, {"paging": {"cursors": {"after": "x"}}}) is None


def test_next_url_follows_until_done() -> None:
    pager = NextUrl("nextRecordsUrl", done_path="done")
    request = Request("GET", "/services/data/v62.0/query", {"q": "SELECT Id FROM Contact"})
    body = {"done": False, "nextRecordsUrl": "/services/data/v62.0/query/01g-2000"}
    nxt = pager.next(request, body)
    assert nxt is not None and nxt.path.endswith("01g-2000") and nxt.params == {}
    assert pager.next(nxt, {"done": True, "nextRecordsUrl": "/x"}) is None


def test_dig() -> None:
    body = {"paging": {"next": {"after": "10"}}, "results": [{"id": 1}]}
    assert dig(body, "paging.next.after") == "10"
    assert dig(body, "results.0.id") == 1
    assert dig(body, "paging.prev.after") is None


@pytest.mark.parametrize(("raw", "iso"), [
    ("2024-05-20T20:49:32.000+0000", "2024-05-20T20:49:32.000Z"),
    ("2022-02-23T19:31:55+00:00", "2022-02-23T19:31:55.000Z"),
    ("1704067260000", "2024-01-01T00:01:00.000Z"),
    (1704067260, "2024-01-01T00:01:00.000Z"),
    ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"),
])
def test_cursor_values_normalise_to_iso_utc(raw, iso) -> None:
    assert to_iso(raw) == iso


def test_redact_hides_known_secrets_and_secret_params() -> None:
    text = ("GET https://graph.example/v21.0/me?access_token=EAAB123secret&fields=id "
            "Authorization: Bearer xoxb-42-abc client_secret=shh")
    clean = redact(text, ("EAAB123secret",))
    assert "EAAB123secret" not in clean and "xoxb-42-abc" not in clean and "shh" not in clean
    assert "fields=id" in clean


async def test_a_next_link_to_another_host_is_refused(connect) -> None:
    connector = connect("hubspot", {"access_token": "sandbox"})
    with pytest.raises(BadRequest, match="another host"):
        connector.client.url("https://evil.example/steal")


_MOMENTS = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1),
                        timezones=st.just(UTC))
_RENDERINGS = [
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z",
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
    lambda d: d.isoformat(),  # +00:00, with microseconds only where there are some
    lambda d: int(d.timestamp() * 1000),
    lambda d: int(d.timestamp()),
    lambda d: str(int(d.timestamp() * 1000)),
]


@given(st.lists(st.tuples(_MOMENTS, st.sampled_from(range(len(_RENDERINGS)))), max_size=30),
       st.booleans())
def test_the_newest_cursor_is_the_newest_of_every_converted_value(found, gaps) -> None:
    values: list[object] = [_RENDERINGS[kind](moment) for moment, kind in found]
    if gaps:
        values += [None, ""]
    assert newest_cursor(values) == max(
        (iso for iso in map(to_iso, values) if iso), default=None)


@given(st.lists(_MOMENTS, min_size=1, max_size=30), st.sampled_from(range(len(_RENDERINGS))))
def test_one_format_per_page_gives_the_same_newest_cursor(moments, kind) -> None:
    values = [_RENDERINGS[kind](moment) for moment in moments]
    assert newest_cursor(values) == max(to_iso(v) or "" for v in values)
