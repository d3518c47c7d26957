"""The brief's lists answer a plain JSON array, as its examples show; they still page. A
page past which more follow says so in headers, the way GitHub's API does: ``Link`` with
``rel="next"`` (RFC 8288) and ``X-Next-Cursor``, so the body keeps the brief's shape."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request, Response

from tools.paging import Page

Item = TypeVar("Item")

PAGED: dict[int | str, dict[str, Any]] = {200: {
    "description": "One page; more follow when the headers say so",
    "headers": {
        "Link": {"description": 'the next page: `<url>; rel="next"`; absent on the last',
                 "schema": {"type": "string"}},
        "X-Next-Cursor": {"description": "pass as `cursor` for the next page; absent on "
                                         "the last", "schema": {"type": "string"}}}}}


def array_page(request: Request, response: Response, page: Page[Item]) -> list[Item]:
    if page.next_cursor:
        following = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{following}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.next_cursor
    return page.items
