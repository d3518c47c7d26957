"""Field types and model bases every operation's input shares: names a person can read,
JSON that cannot grow without bound, and updates where leaving a field out keeps it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

MAX_JSON_BYTES = 64 * 1024


def _clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("may not be blank")
    if not value.isprintable():
        raise ValueError("may hold only printable characters (no control or invisible "
                         "formatting characters)")
    return value


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    """Stored JSON is served on every list: a field may not grow without bound."""
    if len(json.dumps(value)) > MAX_JSON_BYTES:
        raise ValueError(f"is larger than {MAX_JSON_BYTES // 1024} KiB as JSON")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_clean_name)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded)]


class PartialUpdate(BaseModel):
    """Every field optional and none nullable: leave a field out to keep it (MISSING)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} may not be null; leave it out to keep it")
        return value
