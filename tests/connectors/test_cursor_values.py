"""Cursor values from every provider's format end up as one comparable ISO-8601 UTC string,
so "newest change seen" is a string comparison and a checkpoint means the same instant
whichever provider wrote it."""

import pytest

from connectors.cursors import to_iso


@pytest.mark.parametrize(("raw", "iso"), [
    ("1704067200.000123", "2024-01-01T00:00:00.000Z"),  # Slack's ts: epoch seconds
    (1704067200.5, "2024-01-01T00:00:00.500Z"),
    ("1704067260123", "2024-01-01T00:01:00.123Z"),  # epoch milliseconds as text
    (100_000_000_001, "1973-03-03T09:46:40.001Z"),  # just past the seconds/millis line
    (99_999_999_999, "5138-11-16T09:46:39.000Z"),  # seconds, however far ahead
    ("2024-01-01T05:30:00+0530", "2024-01-01T00:00:00.000Z"),
    ("2023-12-31T16:00:00-08:00", "2024-01-01T00:00:00.000Z"),
    ("2024-01-01T00:00:00", "2024-01-01T00:00:00.000Z"),  # no zone: UTC
    ("2024-01-01T00:00:00.123456Z", "2024-01-01T00:00:00.123Z"),
    (" 2024-01-01T00:00:00Z ", "2024-01-01T00:00:00.000Z"),
])
def test_every_providers_cursor_format_becomes_iso_utc(raw, iso) -> None:
    assert to_iso(raw) == iso


@pytest.mark.parametrize("empty", [None, ""])
def test_no_cursor_value_is_no_cursor(empty) -> None:
    assert to_iso(empty) is None


def test_iso_cursors_sort_as_the_instants_they_name() -> None:
    values = ["2024-01-01T00:00:09Z", "1704067210000", "2024-01-01T00:00:11+00:00",
              1704067200]
    assert sorted(to_iso(v) for v in values) == [
        "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:09.000Z",
        "2024-01-01T00:00:10.000Z", "2024-01-01T00:00:11.000Z"]


def test_the_machines_time_zone_never_shifts_a_cursor(monkeypatch) -> None:
    """A worker on a server set to New York time must checkpoint the same instants."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert to_iso("2024-01-01T00:00:00") == "2024-01-01T00:00:00.000Z"
        assert to_iso("2024-01-01T05:30:00+0530") == "2024-01-01T00:00:00.000Z"
        assert to_iso(1704067200) == "2024-01-01T00:00:00.000Z"
    finally:
        monkeypatch.undo()
        time.tzset()
