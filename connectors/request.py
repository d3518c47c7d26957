"""One HTTP call as data, and reading a path out of a decoded JSON body.

``Request`` is frozen, so a page's request can be stored as the checkpoint that
resumes a read; paginators, connectors, the HTTP layer and specs all pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # relative to the base URL, or an absolute URL on the same host (next links)
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def dig(body: Any, path: str, default: Any = None) -> Any:
    """``dig(body, "paging.next.after")``; a missing step gives ``default``."""
    value = body
    for part in path.split(".") if path else []:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return value
