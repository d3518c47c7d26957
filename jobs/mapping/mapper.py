"""A compiled mapping: built once per run, applied to every record.

``apply`` never raises for a record's content: a value a rule cannot handle is a
FieldError in the result (the engine dead-letters or reports it), so one odd record
cannot stop a run. A bug in a rule still propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jobs.mapping.model import Drop, FieldError, MappedRecord, RuleFailed
from jobs.mapping.parse import FIELDS_ROOT, FieldMapping

_MISSING = object()
# what a rule raises for a value it was not written for; turned into a FieldError
_VALUE_ERRORS = (RuleFailed, ValueError, TypeError, ArithmeticError, UnicodeError)


def _dig(record: Any, parts: tuple[str, ...]) -> Any:
    here = record
    for part in parts:
        if isinstance(here, dict):
            here = here.get(part, _MISSING)
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        else:
            return _MISSING
        if here is _MISSING:
            return _MISSING
    return here


def read_path(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; a bare name missing at the top is looked up under
    ``properties`` (HubSpot), so ``email`` reads ``properties.email``. None if absent."""
    parts = tuple(path.split("."))
    found = _dig(record, parts)
    if found is _MISSING and parts[0] != FIELDS_ROOT:
        found = _dig(record, (FIELDS_ROOT, *parts))
    return None if found is _MISSING else found


def reader(path: str) -> Callable[[Any], Any]:
    """``read_path`` for one path, with the path taken apart once instead of per record;
    a bare name (most mappings) is two dict lookups."""
    parts = tuple(path.split("."))
    if len(parts) > 1 or parts[0] == FIELDS_ROOT or parts[0].isdigit():
        return lambda record: read_path(record, path)
    name = parts[0]

    def read(record: Any) -> Any:
        found = record.get(name, _MISSING)
        if found is _MISSING:
            nested = record.get(FIELDS_ROOT)
            return nested.get(name) if isinstance(nested, dict) else None
        return found

    return read


@dataclass(frozen=True)
class _Compiled:
    mapping: FieldMapping
    target: tuple[str, ...]
    steps: tuple[Callable[[Any], Any], ...]
    read: Callable[[Any], Any]  # the source's value (a list of them for several sources)
    key: str | None  # a top-level target's name (most mappings): set without walking a path


def _source_reader(source: str | tuple[str, ...] | list[str]) -> Callable[[Any], Any]:
    if isinstance(source, str):
        return reader(source)
    readers = [reader(p) for p in source]
    return lambda record: [read(record) for read in readers]


class Mapper:
    def __init__(self, mappings: Iterable[FieldMapping], salt: bytes = b"") -> None:
        self.mappings = tuple(mappings)
        self._compiled = tuple(
            _Compiled(m, tuple(m.target.split(".")), tuple(r.bind(salt) for r in m.rules),
                      _source_reader(m.source), None if "." in m.target else m.target)
            for m in self.mappings)
        self.source_paths: set[str] = {p for m in self.mappings for p in m.sources}
        self.target_fields: list[str] = [m.target for m in self.mappings]

    def apply(self, record: dict[str, Any]) -> MappedRecord:
        data: dict[str, Any] = {}
        errors: list[FieldError] = []
        if not isinstance(record, dict):
            return MappedRecord({}, [FieldError("", None, "the record is not an object")])
        for one in self._compiled:
            mapping = one.mapping
            value = one.read(record)  # the record is a dict: checked above
            failed = False
            for index, step in enumerate(one.steps):
                try:
                    value = step(value)
                except Drop:
                    return MappedRecord(None, errors)
                except _VALUE_ERRORS as exc:
                    errors.append(FieldError(mapping.target, index, _message(exc)))
                    failed = True
                    break
            if failed:
                continue
            if one.key is not None:
                data[one.key] = value
            else:
                _put(data, one.target, value)
        return MappedRecord(data, errors)


def _message(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, RuleFailed) else f"{type(exc).__name__}: {text}"[:300]


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    here = data
    for part in path[:-1]:
        here = here.setdefault(part, {})
    here[path[-1]] = value


def compile_mappings(mappings: Iterable[FieldMapping], *, salt: bytes = b"") -> Mapper:
    """``salt``: the tenant's secret for the hash rule (``jobs.mapping.salt.tenant_salt``)."""
    return Mapper(mappings, salt)
