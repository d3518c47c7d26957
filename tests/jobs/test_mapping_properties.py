"""Properties of the rules and of a compiled mapper, checked by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.mapping import RULES, compile_mappings, parse_mappings

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham",
         "Australia/Lord_Howe", "America/St_Johns"]


def apply(rules: list[Any], v: Any, source: Any = "v") -> Any:
    out = compile_mappings(parse_mappings([{"source": source, "target": "out",
                                            "rules": rules}])).apply({"v": v})
    assert out.errors == [], out.errors
    assert out.data is not None
    return out.data.get("out")


@given(st.text())
def test_trim_is_idempotent(text: str) -> None:
    once = apply(["trim"], text)
    assert apply(["trim"], once) == once == text.strip()


@given(st.text(), st.sampled_from(["lower", "upper", "title"]))
def test_case_is_idempotent(text: str, to: str) -> None:
    once = apply([{"rule": "case", "to": to}], text)
    assert apply([{"rule": "case", "to": to}], once) == once


@given(st.text(alphabet=st.characters(codec="ascii", categories=("Ll", "Lu", "Nd"))))
def test_case_round_trips_on_ascii(text: str) -> None:
    upper = apply([{"rule": "case", "to": "upper"}], text)
    assert apply([{"rule": "case", "to": "lower"}], upper) == text.lower()


@given(st.lists(st.text(alphabet="abc ;"), min_size=1), st.sampled_from([",", "|", "::"]))
def test_split_inverts_join(parts: list[str], separator: str) -> None:
    parts = [p.replace(separator, "") for p in parts] if separator != "::" else \
        [p.replace(":", "") for p in parts]
    joined = apply([{"rule": "join", "separator": separator}], parts)
    assert apply([{"rule": "split", "separator": separator}], joined) == parts


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.sampled_from([UTC, *map(ZoneInfo, ZONES[1:])]),
                    allow_imaginary=False),
       st.sampled_from(ZONES), st.sampled_from(["iso", "epoch_ms"]))
def test_date_format_then_parse_round_trips_across_zones(moment: datetime, zone: str,
                                                         output: str) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    rule = {"rule": "date", "output": output, "output_timezone": zone}
    formatted = apply([rule], moment.isoformat())
    back = apply([{"rule": "date", "input": ["iso", "epoch_ms"], "output": "iso"}], formatted)
    assert datetime.fromisoformat(back).timestamp() == moment.timestamp()  # PEP 495: fold


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
       st.sampled_from(ZONES))
def test_a_pattern_format_parses_back_in_its_zone(naive: datetime, zone: str) -> None:
    naive = naive.replace(microsecond=0)
    pattern = "%Y-%m-%d %H:%M:%S"
    text = apply([{"rule": "date", "timezone": zone, "output": pattern,
                   "output_timezone": zone}], naive.strftime(pattern))
    assert text == naive.strftime(pattern) or _in_a_gap(naive, zone)


def _in_a_gap(naive: datetime, zone: str) -> bool:
    """Wall times skipped by a daylight-saving jump do not exist; they move by the jump."""
    local = naive.replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) != naive


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.integers(0, 10**12))
@settings(max_examples=200)
def test_phone_normalisation_is_idempotent(region: str, digits: int) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    national = str(example.national_number)
    text = national[:-3] + str(digits % 1000).zfill(3)
    rule = [{"rule": "phone", "region": region}]
    mapper = compile_mappings(parse_mappings([{"source": "v", "target": "out",
                                               "rules": rule}]))
    first = mapper.apply({"v": text})
    if first.errors:
        return  # not every variation is a valid number
    assert first.data is not None
    e164 = first.data["out"]
    assert e164.startswith("+")
    assert apply([{"rule": "phone", "region": "US"}], e164) == e164


@given(st.dictionaries(st.text(max_size=5), st.integers(), min_size=1),
       st.one_of(st.text(max_size=5), st.integers(), st.none(), st.booleans()))
def test_lookup_with_a_default_is_total(table: dict[str, int], v: Any) -> None:
    result = apply([{"rule": "lookup", "table": table, "default": -1}], v)
    assert result == -1 or result in table.values()


@given(st.emails())
def test_email_normalisation_is_idempotent(address: str) -> None:
    mapper = compile_mappings(parse_mappings([{"source": "v", "target": "out",
                                               "rules": [{"rule": "email"}]}]))
    first = mapper.apply({"v": address})
    if first.errors:  # hypothesis can build addresses the RFCs allow and validators refuse
        return
    assert first.data is not None
    assert apply([{"rule": "email"}], first.data["out"]) == first.data["out"]


@given(st.from_regex(r"(https?://)?[a-zA-Z0-9]{1,10}(\.[a-zA-Z]{2,5}){1,2}(/[a-z0-9]{0,5})?",
                     fullmatch=True))
def test_url_normalisation_is_idempotent(url: str) -> None:
    once = apply([{"rule": "url"}], url)
    assert apply([{"rule": "url"}], once) == once


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
       st.integers(0, 6))
def test_number_round_matches_python_round(number: float, digits: int) -> None:
    result = apply([{"rule": "number", "round": digits}], str(number))
    assert abs(result - number) <= 10 ** -digits / 2 + 1e-6 * max(1, abs(number))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)

EVERY_RULE: list[Any] = [
    "trim", {"rule": "case", "to": "title"}, {"rule": "split"}, {"rule": "join"},
    {"rule": "concat"}, {"rule": "default", "value": "x"}, "coalesce",
    {"rule": "date"}, {"rule": "date", "input": ["epoch_s", "%d.%m.%Y"], "output": "%Y"},
    {"rule": "number", "round": 2, "scale": 3.5},
    {"rule": "lookup", "table": {"a": "A"}}, {"rule": "regex_extract", "pattern": r"(\w)"},
    "required", "email", {"rule": "phone", "region": "GB"}, "url", "hash",
    {"rule": "drop_if", "op": "equals", "value": "drop"},
]


def test_every_rule_is_exercised() -> None:
    named = {r if isinstance(r, str) else r["rule"] for r in EVERY_RULE}
    assert named == set(RULES)


@given(st.dictionaries(st.sampled_from(["a", "b", "properties"]), JSON, max_size=3),
       st.lists(st.sampled_from(range(len(EVERY_RULE))), max_size=4))
@settings(max_examples=400)
def test_a_compiled_mapper_never_raises(record: dict[str, Any], picks: list[int]) -> None:
    rules = [EVERY_RULE[i] for i in picks]
    mapper = compile_mappings(parse_mappings([
        {"source": "a", "target": "x", "rules": rules},
        {"source": ["a", "b.c", "properties.a"], "target": "y", "rules": rules}]),
        salt=b"s")
    out = mapper.apply(record)
    assert out.data is None or set(out.data) <= {"x", "y"}
    for error in out.errors:
        assert error.field in {"x", "y"} and isinstance(error.message, str)


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_epoch_ms_to_iso_and_back(ms: int) -> None:
    iso = apply([{"rule": "date", "input": "epoch_ms"}], ms)
    assert apply([{"rule": "date", "output": "epoch_ms"}], iso) == ms
    assert datetime.fromisoformat(iso) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        milliseconds=ms)


_ADDRESS_PARTS = st.text(alphabet="aZ09.-_+!#'~@é[]\"\\ ", min_size=0, max_size=70)


@settings(max_examples=400)
@given(st.one_of(st.emails(), st.builds(lambda a, b: f"{a}@{b}", _ADDRESS_PARTS,
                                         _ADDRESS_PARTS), _ADDRESS_PARTS))
def test_the_email_shortcut_agrees_with_email_validator(text: str) -> None:
    """The fast path for plain addresses gives what email-validator gives, or fails
    where it fails."""
    from email_validator import EmailNotValidError, validate_email

    from jobs.mapping.rules.contact import normalise_email

    try:
        expected: str | None = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        found: str | None = normalise_email(text)
    except EmailNotValidError:
        found = None
    assert found == expected
