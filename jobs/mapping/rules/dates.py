"""Dates: parse one of several input formats, convert the zone, format.

``{"rule": "date", "input": ["iso", "epoch_ms", "%d/%m/%Y"], "timezone": "Europe/Berlin",
"output": "iso", "output_timezone": "UTC"}``. ``timezone`` is the zone of inputs that
carry none; ``output`` is ``iso``, ``date`` (YYYY-MM-DD), ``epoch_ms``, ``epoch_s`` or an
strftime pattern.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobs.mapping.model import Params, Rule, RuleFailed, register, text_of

NAMED_INPUTS = ("iso", "epoch_ms", "epoch_s")
NAMED_OUTPUTS = ("iso", "date", "epoch_ms", "epoch_s")
_PROBE = datetime(2001, 2, 3, 4, 5, 6, 7000, tzinfo=UTC)


def zone(params: Params, name: str, default: str = "UTC") -> tzinfo:
    spelled = params.text(name, default)
    if spelled == "UTC":
        return UTC
    try:
        return ZoneInfo(spelled)
    except (ZoneInfoNotFoundError, ValueError):
        raise params.fail(name, f"unknown time zone {spelled!r} (an IANA name such as "
                                "'Europe/Berlin')") from None


def _pattern(params: Params, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or "%" not in value or len(value) > 100:
        raise params.fail(name, f"{value!r} is neither one of {', '.join(NAMED_INPUTS)} "
                                "nor an strftime pattern such as '%d/%m/%Y'")
    try:
        _PROBE.strftime(value)
    except ValueError as exc:
        raise params.fail(name, f"{value!r} is not a valid pattern: {exc}") from None
    return value


@register
class Date(Rule):
    name = "date"
    params = ("input", "timezone", "output", "output_timezone")

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        inputs = params.get("input", ["iso", "epoch_ms"])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or len(inputs) > 10:
            raise params.fail("input", "must be a format or a list of 1 to 10 formats")
        self.inputs = [item if item in NAMED_INPUTS else _pattern(params, f"input[{i}]", item)
                       for i, item in enumerate(inputs)]
        self.zone = zone(params, "timezone")
        output = params.get("output", "iso")
        self.output = output if output in NAMED_OUTPUTS else _pattern(params, "output", output)
        self.output_zone = zone(params, "output_timezone")

    def parse(self, value: Any) -> datetime:
        for form in self.inputs:
            moment = _parse(value, form)
            if moment is not None:
                return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
        raise RuleFailed(f"{str(value)[:100]!r} is not a date in any of the formats "
                         f"{', '.join(self.inputs)}")

    def apply(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        moment = self.parse(value).astimezone(self.output_zone)
        try:
            if self.output == "iso":
                return moment.isoformat()
            if self.output == "date":
                return moment.date().isoformat()
            if self.output in ("epoch_ms", "epoch_s"):
                seconds = moment.timestamp()
                return round(seconds * 1000) if self.output == "epoch_ms" else int(seconds)
            return moment.strftime(self.output)
        except (ValueError, OverflowError) as exc:
            raise RuleFailed(f"cannot format the date: {exc}") from None


def _parse(value: Any, form: str) -> datetime | None:
    try:
        if form in ("epoch_ms", "epoch_s"):
            if isinstance(value, bool):
                return None
            number = float(value) if isinstance(value, int | float | str) else None
            if number is None or number != number:
                return None
            return datetime.fromtimestamp(number / 1000 if form == "epoch_ms" else number, UTC)
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = text_of(value, "date")
        if text is None:
            return None
        text = text.strip()
        if form == "iso":
            if isinstance(value, int | float) or (text.isdigit() and len(text) != 8):
                return None  # a bare number is an epoch, not ISO's basic format (YYYYMMDD)
            return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z")
                                          else text)
        return datetime.strptime(text, form)
    except (ValueError, OverflowError, OSError, RuleFailed):
        return None
