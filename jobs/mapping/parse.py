"""Reading a flow's mapping configuration into FieldMappings, or saying exactly where
it is wrong (``mappings[2].rules[1].format``) before anything is saved or run.

Two spellings are accepted: the brief's parallel ``source_fields``/``target_fields``
lists (with optional ``transformation_rules``: ``{target: [rule, ...]}``), and a
``mappings`` list of ``{"source": "email" | ["first", "last"], "target": "email",
"rules": [...]}``. When ``mappings`` is non-empty it is the configuration (a stored
flow keeps both: the lists as given, ``mappings`` as parsed).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import jobs.mapping.rules  # noqa: F401 - registers every rule
from jobs.mapping.model import RULES, Params, Rule
from store.errors import ValidationFailed

MAX_MAPPINGS = 500
MAX_RULES = 20
MAX_SOURCES = 20
_PATH = re.compile(r"[A-Za-z0-9_$@\-]+(\.[A-Za-z0-9_$@\-]+)*")
FIELDS_ROOT = "properties"  # HubSpot's records carry their fields here


@dataclass(frozen=True)
class FieldMapping:
    source: str | tuple[str, ...]
    target: str
    rules: tuple[Rule, ...]
    where: str  # "mappings[2]": where the configuration said it

    @property
    def sources(self) -> tuple[str, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)

    def to_json(self) -> dict[str, Any]:
        """The stored, normalised form (``DataFlow.mappings``)."""
        source = list(self.source) if isinstance(self.source, tuple) else self.source
        return {"source": source, "target": self.target,
                "rules": [dict(rule.spelled) for rule in self.rules]}


def parse_mappings(mappings: list[Any] | None, *, source_fields: list[Any] | None = None,
                   target_fields: list[Any] | None = None,
                   rules: dict[str, Any] | None = None,
                   known_fields: Collection[str] | None = None) -> list[FieldMapping]:
    """The configuration as FieldMappings. ``known_fields``: the stream's field names;
    a source path whose first part (under ``properties.`` or not) is none of them is
    refused with the closest real one."""
    if mappings:  # the flat lists, if any, are then only its display form
        if not isinstance(mappings, list):
            raise ValidationFailed("must be a list", field="mappings")
        raw = [(f"mappings[{i}]", m) for i, m in enumerate(mappings)]
    else:
        raw = _from_flat(source_fields or [], target_fields or [], rules or {})
    if not raw:
        raise ValidationFailed("a flow needs at least one field mapping (source_fields and "
                               "target_fields, or mappings)", field="source_fields")
    if len(raw) > MAX_MAPPINGS:
        raise ValidationFailed(f"at most {MAX_MAPPINGS} mappings", field="mappings")
    parsed = [_mapping(where, item, known_fields) for where, item in raw]
    _distinct_targets(parsed)
    return parsed


def _from_flat(sources: list[Any], targets: list[Any],
               rules: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(sources, list) or not isinstance(targets, list):
        raise ValidationFailed("must be a list of field names", field="source_fields")
    if len(sources) != len(targets):
        raise ValidationFailed(f"has {len(targets)} fields but source_fields has "
                               f"{len(sources)}; they pair up one to one",
                               field="target_fields")
    if not isinstance(rules, dict):
        raise ValidationFailed("must be an object of target field -> list of rules",
                               field="transformation_rules")
    for name in rules:
        if name not in targets:
            raise ValidationFailed(f"names {name!r}, which is not a target field"
                                   f"{_did_you_mean(str(name), map(str, targets))}",
                                   field=f"transformation_rules.{name}")
    out = []
    for i, (source, target) in enumerate(zip(sources, targets, strict=True)):
        for name, value in (("source_fields", source), ("target_fields", target)):
            if not isinstance(value, str):
                raise ValidationFailed("must be a field name (text)", field=f"{name}[{i}]")
        out.append((f"source_fields[{i}]", {"source": source, "target": target,
                                            "rules": rules.get(target, []),
                                            "_rules_at": f"transformation_rules.{target}"}))
    return out


def _mapping(where: str, item: Any, known: Collection[str] | None) -> FieldMapping:
    if not isinstance(item, dict):
        raise ValidationFailed("must be an object with source, target and rules", field=where)
    rules_at = item.get("_rules_at", f"{where}.rules")
    flat = "_rules_at" in item
    unknown = sorted(set(item) - {"source", "target", "rules", "_rules_at"})
    if unknown:
        raise ValidationFailed(f"unknown key {unknown[0]!r} (a mapping has source, target, "
                               "rules)", field=f"{where}.{unknown[0]}")
    source_at = where if flat else f"{where}.source"
    target_at = where.replace("source_fields", "target_fields") if flat else f"{where}.target"
    source = item.get("source")
    if isinstance(source, list):
        if not 1 <= len(source) <= MAX_SOURCES:
            raise ValidationFailed(f"must name 1 to {MAX_SOURCES} fields", field=source_at)
        paths = tuple(_path(f"{source_at}[{i}]", s, known) for i, s in enumerate(source))
        spelled: str | tuple[str, ...] = paths
    else:
        spelled = _path(source_at, source, known)
    target = _path(target_at, item.get("target"), None)
    listed = item.get("rules", [])
    if not isinstance(listed, list):
        raise ValidationFailed("must be a list of rules", field=rules_at)
    if len(listed) > MAX_RULES:
        raise ValidationFailed(f"at most {MAX_RULES} rules per field", field=rules_at)
    rules = tuple(_rule(f"{rules_at}[{j}]", raw) for j, raw in enumerate(listed))
    return FieldMapping(spelled, target, rules, where)


def _path(where: str, value: Any, known: Collection[str] | None) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationFailed("must be a field name (text)", field=where)
    if len(value) > 200 or not _PATH.fullmatch(value):
        raise ValidationFailed(f"{value[:200]!r} is not a field path (names of letters, "
                               "digits, _ and -, joined by dots)", field=where)
    if known is not None:
        parts = value.split(".")
        head = parts[1] if parts[0] == FIELDS_ROOT and len(parts) > 1 else parts[0]
        if head not in known and value not in known:
            raise ValidationFailed(f"unknown field {value!r}{_did_you_mean(head, known)}",
                                   field=where)
    return value


def _did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _rule(where: str, raw: Any) -> Rule:
    if isinstance(raw, str):  # "trim" is short for {"rule": "trim"}
        raw = {"rule": raw}
    if not isinstance(raw, dict):
        raise ValidationFailed('must be a rule object such as {"rule": "trim"}', field=where)
    name = raw.get("rule")
    if not isinstance(name, str) or name not in RULES:
        shown = name if isinstance(name, str) else None
        hint = _did_you_mean(shown, RULES) if shown else ""
        raise ValidationFailed(f"unknown rule {shown!r}{hint} (rules: "
                               f"{', '.join(sorted(RULES))})", field=f"{where}.rule")
    cls = RULES[name]
    return cls(Params(raw, where, cls.params))


def _distinct_targets(parsed: list[FieldMapping]) -> None:
    seen: dict[str, str] = {}
    for mapping in parsed:
        for other, at in seen.items():
            if mapping.target == other or mapping.target.startswith(other + ".") \
                    or other.startswith(mapping.target + "."):
                raise ValidationFailed(f"target {mapping.target!r} collides with "
                                       f"{other!r} at {at}", field=f"{mapping.where}.target"
                                       if not mapping.where.startswith("source_fields")
                                       else mapping.where.replace("source", "target"))
        seen[mapping.target] = mapping.where
