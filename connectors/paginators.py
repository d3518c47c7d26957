"""How a provider hands out the next page. Small classes, two methods each.

``first(request, page_size)`` shapes the first request; ``next(request, body)``
returns the request for the next page, or None on the last one. No provider
writes its own paging loop: connectors/connector.py drives these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any

from connectors.request import Request, dig


class Paginator(ABC):
    @abstractmethod
    def first(self, request: Request, page_size: int) -> Request: ...

    @abstractmethod
    def next(self, request: Request, body: Any) -> Request | None: ...


@dataclass(frozen=True)
class SinglePage(Paginator):
    def first(self, request: Request, page_size: int) -> Request:
        return request

    def next(self, request: Request, body: Any) -> Request | None:
        return None


@dataclass(frozen=True)
class CursorParam(Paginator):
    """A token from the body goes back as a query parameter (HubSpot, Slack, Graph).

    An empty or missing token ends the list; ``stop_unless`` names a field whose
    absence also ends it (Graph sends cursors on the last page, but no ``next``).
    """

    cursor_path: str
    param: str
    limit_param: str = "limit"
    stop_unless: str | None = None

    def first(self, request: Request, page_size: int) -> Request:
        return replace(request, params={**request.params, self.limit_param: page_size})

    def next(self, request: Request, body: Any) -> Request | None:
        token = dig(body, self.cursor_path)
        if not token or (self.stop_unless and not dig(body, self.stop_unless)):
            return None
        return replace(request, params={**request.params, self.param: token})


@dataclass(frozen=True)
class BodyCursor(Paginator):
    """The token goes back inside the JSON body (HubSpot search, Google Ads search)."""

    cursor_path: str
    body_field: str
    limit_field: str | None = "limit"

    def first(self, request: Request, page_size: int) -> Request:
        body = dict(request.json or {})
        if self.limit_field:
            body[self.limit_field] = page_size
        return replace(request, json=body)

    def next(self, request: Request, body: Any) -> Request | None:
        token = dig(body, self.cursor_path)
        if not token:
            return None
        return replace(request, json={**(request.json or {}), self.body_field: token})


@dataclass(frozen=True)
class NextUrl(Paginator):
    """The body names the next URL outright (Salesforce nextRecordsUrl, Zapier links.next)."""

    url_path: str
    done_path: str | None = None
    page_size_header: str | None = None
    page_size_format: str = "{}"

    def first(self, request: Request, page_size: int) -> Request:
        if self.page_size_header:
            headers = {**request.headers,
                       self.page_size_header: self.page_size_format.format(page_size)}
            return replace(request, headers=headers)
        return request

    def next(self, request: Request, body: Any) -> Request | None:
        if self.done_path and dig(body, self.done_path) is True:
            return None
        url = dig(body, self.url_path)
        if not url:
            return None
        return replace(request, path=url, params={}, json=None)


@dataclass(frozen=True)
class Offset(Paginator):
    """offset/count with a total (Mailchimp): stop once offset reaches the total."""

    offset_param: str = "offset"
    limit_param: str = "count"
    total_path: str = "total_items"
    records_path: str = ""

    def first(self, request: Request, page_size: int) -> Request:
        return replace(request, params={**request.params, self.offset_param: 0,
                                        self.limit_param: page_size})

    def next(self, request: Request, body: Any) -> Request | None:
        offset = int(request.params.get(self.offset_param, 0))
        size = int(request.params[self.limit_param])
        got = len(dig(body, self.records_path) or []) if self.records_path else size
        total = dig(body, self.total_path)
        nxt = offset + size
        if got == 0 or (total is not None and nxt >= int(total)):
            return None
        return replace(request, params={**request.params, self.offset_param: nxt})

