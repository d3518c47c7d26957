"""A STAND-IN for the mapping engine (issue 7 part 2), replaced at merge: plain renames only.

It keeps the engine's interface (``parse_mappings``, ``compile_mappings``,
``Mapper.apply`` answering ``MappedRecord(data, errors)``) so the sync engine can
be built and tested against it. Rules are ignored; the one check it makes is
``"required": true`` on a mapping whose source value is missing, so a bad record
can be dead-lettered in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    rule_index: int | None
    message: str


@dataclass
class MappedRecord:
    data: dict[str, Any] | None  # None: the record is dropped
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class FieldMapping:
    source: str
    target: str
    required: bool = False


def _lookup(record: dict[str, Any], path: str) -> Any:
    """A dotted path; a provider's bare field name also finds it under ``properties`` (as
    HubSpot nests them), which is how the brief's example names fields."""
    for candidate in (path, f"properties.{path}"):
        value: Any = record
        for part in candidate.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None:
            return value
    return None


def parse_mappings(mappings: list[Any], *, source_fields: list[Any] | None = None,
                   target_fields: list[Any] | None = None,
                   rules: dict[str, Any] | None = None) -> list[FieldMapping]:
    parsed = [FieldMapping(str(m["source"]), str(m["target"]), bool(m.get("required")))
              for m in mappings or []]
    parsed += [FieldMapping(str(s), str(t))
               for s, t in zip(source_fields or [], target_fields or [], strict=False)]
    return parsed


class Mapper:
    def __init__(self, mappings: list[FieldMapping]) -> None:
        self.mappings = mappings

    def apply(self, record: dict[str, Any]) -> MappedRecord:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        for mapping in self.mappings:
            value = _lookup(record, mapping.source)
            if value is None and mapping.required:
                errors.append(FieldError(mapping.target, None,
                                         f"{mapping.source} is required but missing"))
            data[mapping.target] = value
        return MappedRecord(data, errors)


def compile_mappings(mappings: list[FieldMapping]) -> Mapper:
    return Mapper(mappings)
