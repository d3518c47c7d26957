"""Each rule on examples, and invalid rule configurations as a table with the exact
field and message expected."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.mapping import compile_mappings, parse_mappings
from store.errors import ValidationFailed


def run(rules: list[Any], record: dict[str, Any], source: Any = "v", salt: bytes = b"") -> Any:
    mapper = compile_mappings(parse_mappings([{"source": source, "target": "out",
                                               "rules": rules}]), salt=salt)
    return mapper.apply(record)


def value(rules: list[Any], v: Any) -> Any:
    out = run(rules, {"v": v})
    assert out.errors == [], out.errors
    assert out.data is not None
    return out.data["out"]


@pytest.mark.parametrize(("rules", "given", "expected"), [
    (["trim"], "  a b ", "a b"),
    ([{"rule": "case", "to": "upper"}], "abc", "ABC"),
    ([{"rule": "case", "to": "title"}], "ada lovelace", "Ada Lovelace"),
    ([{"rule": "split", "separator": ";", "trim": True}], "a; b ;c", ["a", "b", "c"]),
    ([{"rule": "split"}, {"rule": "join", "separator": "|"}], "a,b", "a|b"),
    ([{"rule": "default", "value": "n/a"}], "", "n/a"),
    ([{"rule": "default", "value": "n/a"}], None, "n/a"),
    ([{"rule": "lookup", "table": {"lead": "Lead", "1": "One"}}], "lead", "Lead"),
    ([{"rule": "lookup", "table": {"1": "One"}}], 1, "One"),
    ([{"rule": "lookup", "table": {"a": 1}, "default": 0}], "zzz", 0),
    ([{"rule": "regex_extract", "pattern": r"(\d{5})"}], "Berlin 10115 DE", "10115"),
    ([{"rule": "regex_extract", "pattern": r"(?P<zip>\d{5})", "group": "zip"}], "x 12345",
     "12345"),
    ([{"rule": "regex_extract", "pattern": r"\d+"}], "none", None),
    ([{"rule": "email"}], " Ada@Example.COM ", "ada@example.com"),
    ([{"rule": "phone", "region": "DE"}], "030 1234567", "+49301234567"),
    ([{"rule": "phone"}], "+1 (201) 555-0123", "+12015550123"),
    ([{"rule": "url"}], "Example.COM/path?q=1", "https://example.com/path?q=1"),
    ([{"rule": "url"}], "http://EXAMPLE.com", "http://example.com/"),
    ([{"rule": "number"}], "1,234.50", 1234.5),
    ([{"rule": "number", "round": 0}], "1,234.50", 1234),
    ([{"rule": "number", "decimal": ",", "round": 2}], "1.234,567", 1234.57),
    ([{"rule": "number", "scale": 0.01, "round": 2}], 12345, 123.45),
    ([{"rule": "date"}], "2024-03-01T12:00:00Z", "2024-03-01T12:00:00+00:00"),
    ([{"rule": "date", "output_timezone": "Europe/Berlin"}], 1709294400000,
     "2024-03-01T13:00:00+01:00"),
    ([{"rule": "date", "input": "%d/%m/%Y", "timezone": "America/New_York",
       "output": "epoch_s"}], "01/03/2024", 1709269200),
    ([{"rule": "date", "input": ["%Y"], "output": "date"}], "2024", "2024-01-01"),
    ([{"rule": "required"}], "x", "x"),
])
def test_rule_examples(rules: list[Any], given: Any, expected: Any) -> None:
    assert value(rules, given) == expected


def test_concat_and_coalesce_read_several_sources() -> None:
    record = {"properties": {"firstname": "Ada", "lastname": "Lovelace"}, "nick": ""}
    concat = run([{"rule": "concat"}], record, source=["firstname", "middle", "lastname"])
    assert concat.data == {"out": "Ada Lovelace"}
    coalesce = run(["coalesce"], record, source=["nick", "firstname"])
    assert coalesce.data == {"out": "Ada"}


def test_text_rules_work_on_each_of_several_sources_and_nested_targets() -> None:
    record = {"a": "  ada ", "b": 7, "c": None}
    out = run(["trim", {"rule": "case", "to": "title"}], record, source=["a", "b", "c"])
    assert out.data == {"out": ["Ada", 7, None]}  # non-text items pass through untouched
    nested = compile_mappings(parse_mappings([
        {"source": "a", "target": "person.name", "rules": ["trim", {"rule": "case",
                                                                     "to": "upper"}]},
        {"source": "b", "target": "person.age"}, {"source": "a", "target": "raw"}]))
    assert nested.apply(record).data == {"person": {"name": "ADA", "age": 7}, "raw": "  ada "}


def test_hash_is_keyed_by_the_tenant_salt() -> None:
    one = run([{"rule": "hash"}], {"v": "Ada@Example.com "}, salt=b"tenant-a").data
    again = run([{"rule": "hash"}], {"v": "ada@example.com"}, salt=b"tenant-a").data
    other = run([{"rule": "hash"}], {"v": "ada@example.com"}, salt=b"tenant-b").data
    assert one == again and one != other
    assert one is not None and len(one["out"]) == 64


def test_drop_if_drops_the_record() -> None:
    rules = [{"rule": "drop_if", "op": "in", "value": ["unsubscribed", "cleaned"]}]
    assert run(rules, {"v": "cleaned"}).data is None
    assert run(rules, {"v": "subscribed"}).data == {"out": "subscribed"}
    assert run([{"rule": "drop_if", "op": "empty"}], {}).data is None


@pytest.mark.parametrize(("rules", "given", "message"), [
    (["required"], "", "is required but missing or empty"),
    ([{"rule": "email"}], "not-an-address", "not a valid e-mail address"),
    ([{"rule": "phone", "region": "DE"}], "12", "is not a valid phone number"),
    ([{"rule": "url"}], "ftp://x.org", "is not an http(s) URL"),
    ([{"rule": "number"}], "abc", "'abc' is not a number"),
    ([{"rule": "date", "input": "iso"}], "yesterday", "is not a date in any of the formats"),
    ([{"rule": "lookup", "table": {"a": 1}}], "b", "no entry for 'b'"),
    (["trim", {"rule": "case", "to": "lower"}, {"rule": "number"}], {"a": 1}, "needs text"),
    ([{"rule": "regex_extract", "pattern": r"([\w.]+)@([\w.]+)"}], "a" * 1001,
     "works on at most 1000 characters"),
])
def test_rule_failures_are_field_errors(rules: list[Any], given: Any, message: str) -> None:
    out = run(rules, {"v": given, "keep": 1})
    assert out.data is not None and "out" not in out.data
    assert [(e.field, e.rule_index) for e in out.errors] == [("out", len(rules) - 1)]
    assert message in out.errors[0].message


def test_a_dotted_target_nests() -> None:
    mapper = compile_mappings(parse_mappings([], source_fields=["a", "b"],
                                             target_fields=["x.y", "x.z"]))
    assert mapper.apply({"a": 1, "b": 2}).data == {"x": {"y": 1, "z": 2}}
    assert mapper.source_paths == {"a", "b"}


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "tirm"}]}]},
     "mappings[0].rules[0].rule", "unknown rule 'tirm'; did you mean 'trim'?"),
    ({"mappings": [{"source": "a", "target": "b"},
                   {"source": "c", "target": "d", "rules": ["trim", {"rule": "date",
                                                                     "output": "x"}]}]},
     "mappings[1].rules[1].output", "'x' is neither one of iso, epoch_ms, epoch_s"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "case"}]}]},
     "mappings[0].rules[0].to", "is required"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "case", "to": "camel"}]}]},
     "mappings[0].rules[0].to", "must be one of lower, title, upper; got 'camel'"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "trim", "x": 1}]}]},
     "mappings[0].rules[0].x", "unknown parameter 'x' (takes: no parameters)"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": "(a+)+$"}]}]},
     "mappings[0].rules[0].pattern", "may backtrack without bound"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": "(x|xy)*z"}]}]},
     "mappings[0].rules[0].pattern", "may backtrack without bound"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": r"\d+\s*\d+.+\w+x"}]}]},
     "mappings[0].rules[0].pattern", "has more than 3 unbounded repetitions"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": r"(a)\1"}]}]},
     "mappings[0].rules[0].pattern", "may backtrack without bound"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": "(" * 3}]}]},
     "mappings[0].rules[0].pattern", "is not a valid regular expression"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "regex_extract", "pattern": "a" * 201}]}]},
     "mappings[0].rules[0].pattern", "is longer than 200 characters"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "date", "timezone": "Mars/Olympus"}]}]},
     "mappings[0].rules[0].timezone", "unknown time zone 'Mars/Olympus'"),
    ({"mappings": [{"source": "a", "target": "b",
                    "rules": [{"rule": "date", "input": ["iso", "dd/mm"]}]}]},
     "mappings[0].rules[0].input[1]", "'dd/mm' is neither one of iso, epoch_ms, epoch_s"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "phone",
                                                             "region": "XX"}]}]},
     "mappings[0].rules[0].region", "unknown region 'XX'"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "number",
                                                             "round": 40}]}]},
     "mappings[0].rules[0].round", "must be between 0 and 12; got 40"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "lookup"}]}]},
     "mappings[0].rules[0].table", "must be an object of value -> replacement"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "drop_if",
                                                             "op": "in", "value": 3}]}]},
     "mappings[0].rules[0].value", "in needs a non-empty list"),
    ({"mappings": [{"source": "a", "target": "b", "rules": [{"rule": "default"}]}]},
     "mappings[0].rules[0].value", "is required"),
    ({"mappings": [{"source": "a", "target": "b", "rules": "trim"}]},
     "mappings[0].rules", "must be a list of rules"),
    ({"mappings": [{"source": "a", "target": "b"}, {"source": "c", "target": "b"}]},
     "mappings[1].target", "target 'b' collides with 'b' at mappings[0]"),
    ({"mappings": [{"source": "a b", "target": "b"}]},
     "mappings[0].source", "'a b' is not a field path"),
    ({"mappings": [{"source": ["a", 3], "target": "b"}]},
     "mappings[0].source[1]", "must be a field name (text)"),
    ({"mappings": [{"source": "a", "target": "b", "when": 1}]},
     "mappings[0].when", "unknown key 'when'"),
    ({"source_fields": ["a", "b"], "target_fields": ["x"]},
     "target_fields", "has 1 fields but source_fields has 2; they pair up one to one"),
    ({"source_fields": ["email"], "target_fields": ["email"],
      "rules": {"emial": ["trim"]}},
     "transformation_rules.emial", "names 'emial', which is not a target field; did you "
     "mean 'email'?"),
    ({"source_fields": ["email"], "target_fields": ["email"],
      "rules": {"email": ["trim", {"rule": "case", "to": "snake"}]}},
     "transformation_rules.email[1].to", "must be one of lower, title, upper"),
    ({"source_fields": ["first_name"], "target_fields": ["firstName"]},
     "source_fields[0]", "unknown field 'first_name'; did you mean 'firstname'?"),
    ({"mappings": [{"source": "properties.emial", "target": "email"}]},
     "mappings[0].source", "unknown field 'properties.emial'; did you mean 'email'?"),
    ({"source_fields": [], "target_fields": []},
     "source_fields", "a flow needs at least one field mapping"),
]


@pytest.mark.parametrize(("config", "field", "message"), BAD,
                         ids=[field for _, field, _ in BAD])
def test_invalid_configurations_name_their_position(config: dict[str, Any], field: str,
                                                    message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_mappings(config.get("mappings"), source_fields=config.get("source_fields"),
                       target_fields=config.get("target_fields"), rules=config.get("rules"),
                       known_fields=("email", "firstname", "lastname", "a", "c"))
    assert raised.value.details[0]["field"] == field
    assert message in raised.value.details[0]["message"]


def test_stored_form_parses_back_the_same() -> None:
    first = parse_mappings([], source_fields=["email"], target_fields=["email"],
                           rules={"email": ["trim", {"rule": "email"}]})
    stored = [m.to_json() for m in first]
    again = parse_mappings(stored)
    assert [m.to_json() for m in again] == stored


def test_the_tenant_salt_is_per_tenant_and_survives_adding_a_newer_key() -> None:
    import uuid

    from cryptography.fernet import Fernet

    from jobs.mapping.salt import tenant_salt
    from store.crypto import SecretBox

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    acme, globex = uuid.uuid4(), uuid.uuid4()
    vault = SecretBox([old])
    assert tenant_salt(vault, acme) != tenant_salt(vault, globex)
    # rotation puts a new key first; hashes already stored must keep matching
    assert tenant_salt(SecretBox([new, old]), acme) == tenant_salt(vault, acme)
    assert old.encode() not in tenant_salt(vault, acme)
