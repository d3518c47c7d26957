"""Time windows as people say them ("last night", "past 3 days") as a UTC start time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "couple": 2,
            "few": 3, "several": 3, "24": 24, "48": 48}
_UNITS = {"minute": timedelta(minutes=1), "min": timedelta(minutes=1),
          "hour": timedelta(hours=1), "hr": timedelta(hours=1), "day": timedelta(days=1),
          "week": timedelta(weeks=1), "month": timedelta(days=30)}
_SPAN = re.compile(
    r"\b(?:last|past|previous|recent|over the|in the|within the|for the|during the)\s+"
    r"(?:(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|couple of|few|"
    r"several)\s+)?(minute|min|hour|hr|day|week|month)s?\b")
_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six|seven|ten)\s+"
                  r"(minute|hour|day|week|month)s?\s+ago\b")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def window_start(lower: str, now: datetime | None = None) -> datetime | None:
    """The start of the window a message names, or None when it names none."""
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if m := _SPAN.search(lower):
        count = _NUMBERS.get((m.group(1) or "one").split()[0], None)
        count = count if count is not None else int(m.group(1))
        return now - count * _UNITS[m.group(2)]
    if m := _AGO.search(lower):
        count = _NUMBERS.get(m.group(1)) or int(m.group(1))
        return now - count * _UNITS[m.group(2)]
    if re.search(r"\b(last|yester)\s*night\b|\bovernight\b", lower):
        return midnight - timedelta(hours=6)  # from 18:00 yesterday
    if re.search(r"\byesterday\b", lower):
        return midnight - timedelta(days=1)
    if re.search(r"\b(today|this morning|since midnight)\b", lower):
        return midnight
    if re.search(r"\bthis week\b", lower):
        return midnight - timedelta(days=now.weekday())
    if re.search(r"\bthis month\b", lower):
        return midnight.replace(day=1)
    if re.search(r"\b(lately|recently)\b", lower):
        return now - timedelta(days=7)
    if m := re.search(r"\bsince (?:last )?(" + "|".join(_WEEKDAYS) + r")\b", lower):
        back = (now.weekday() - _WEEKDAYS.index(m.group(1))) % 7 or 7
        return midnight - timedelta(days=back)
    if m := re.search(r"\b(?:on|last) (" + "|".join(_WEEKDAYS) + r")\b", lower):
        back = (now.weekday() - _WEEKDAYS.index(m.group(1))) % 7 or 7
        return midnight - timedelta(days=back)
    return None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
