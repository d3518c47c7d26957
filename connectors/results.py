"""What a connector's reads and checks hand back: a page of records with its cursor and
where to resume, a deleted record, a page of ids from a scan, a connection test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.errors import ProviderError


@dataclass
class Page:
    records: list[dict[str, Any]]
    cursor: str | None  # newest cursor-field value in this page, ISO-8601 UTC
    resume: dict[str, Any] | None  # the request for the next page; None on the last


@dataclass(frozen=True)
class Deleted:
    id: str  # the stream's key of the record
    at: str | None  # when the provider says it was deleted or archived, ISO-8601 UTC


@dataclass(frozen=True)
class IdPage:
    ids: list[str]
    complete: bool  # True only on the last page of a scan that reached the end of the list


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    action: str | None = None
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: ProviderError | None = None  # what failed, for integration_status_after
