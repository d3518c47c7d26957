"""The shapes the mapping engine hands out, and the rule contract.

A rule is a small class found by name in ``RULES``: its constructor checks its
parameters (raising ``ValidationFailed`` that names ``mappings[i].rules[j].param``),
and ``apply`` turns one value into another or raises ``RuleFailed``. Nothing a
tenant writes is ever evaluated as code.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from store.errors import ValidationFailed

MAX_TEXT = 10_000  # longest string a rule works on: bounds regex and parsing cost


class RuleFailed(Exception):
    """A value this rule cannot turn into its output; becomes a FieldError, not a crash."""


class Drop(Exception):
    """drop_if matched: the whole record is left out."""


@dataclass(frozen=True)
class FieldError:
    field: str  # the mapping's target
    rule_index: int | None  # which of its rules failed; None when reading the source did
    message: str


@dataclass
class MappedRecord:
    data: dict[str, Any] | None  # None: dropped by a drop_if rule
    errors: list[FieldError] = field(default_factory=list)


class Params:
    """A rule's parameters with the rule's position, so every complaint names its place."""

    def __init__(self, raw: dict[str, Any], where: str, allowed: Collection[str]) -> None:
        self.raw, self.where = raw, where
        unknown = sorted(set(raw) - set(allowed) - {"rule"})
        if unknown:
            takes = ", ".join(sorted(allowed)) or "no parameters"
            raise ValidationFailed(f"unknown parameter {unknown[0]!r} (takes: {takes})",
                                   field=f"{where}.{unknown[0]}")

    def fail(self, name: str, message: str) -> ValidationFailed:
        return ValidationFailed(message, field=f"{self.where}.{name}")

    def has(self, name: str) -> bool:
        return name in self.raw

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def text(self, name: str, default: str | None = None, *, choices: Collection[str] = (),
             non_empty: bool = False, max_length: int = 200) -> str:
        value = self.raw.get(name, default)
        if value is None:
            raise self.fail(name, "is required")
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, not {type(value).__name__}")
        if choices and value not in choices:
            raise self.fail(name, f"must be one of {', '.join(sorted(choices))}; "
                                  f"got {value!r}")
        if non_empty and not value:
            raise self.fail(name, "may not be empty")
        if len(value) > max_length:
            raise self.fail(name, f"is longer than {max_length} characters")
        return value

    def integer(self, name: str, default: int | None = None, *, low: int = 0,
                high: int = 1_000_000) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, "must be an integer" if value is not None else "is required")
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}; got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def number(self, name: str, default: float) -> float:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.fail(name, "must be a number")
        return float(value)


class Rule:
    """One transformation. Subclasses set ``name`` and ``params`` and implement ``apply``;
    ``__init__`` reads and checks the parameters once, at parse time."""

    name: ClassVar[str]
    params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Params) -> None:
        self.where = params.where
        self.spelled = dict(params.raw)  # as configured, for storing and showing

    def apply(self, value: Any) -> Any:
        raise NotImplementedError

    def bind(self, salt: bytes) -> Callable[[Any], Any]:
        """The function a compiled mapper calls; rules that need the tenant's salt
        (hash) close over it here."""
        return self.apply

    def __repr__(self) -> str:
        return f"<rule {self.name} at {self.where}>"


RULES: dict[str, type[Rule]] = {}
R = TypeVar("R", bound=type[Rule])


def register(cls: R) -> R:
    RULES[cls.name] = cls
    return cls


def text_of(value: Any, rule: str) -> str | None:
    """The value as text for a text rule: None stays None, numbers become text, and
    anything longer than MAX_TEXT is refused rather than worked on."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise RuleFailed(f"{rule} needs text, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise RuleFailed(f"{rule}: the value is longer than {MAX_TEXT} characters")
    return value


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def each(value: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to a value, or to every item of a list (a multi-source mapping)."""
    if isinstance(value, list):
        return [fn(item) for item in value]
    return fn(value)
