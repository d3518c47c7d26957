"""Keyset pages: newest first by (created_at, id), with an opaque cursor.

A cursor is the last row's key, so a page never repeats or skips a row when rows are
added meanwhile (an offset would shift under every insert). Clients treat it as opaque:
it is base64 only so that it survives a query string untouched.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from store.errors import ValidationFailed

MAX_LIMIT = 200
DEFAULT_LIMIT = 100
Item = TypeVar("Item")
Query = TypeVar("Query", bound=Select)


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at "
                                    "the end")


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, key = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(key)
    except (ValueError, UnicodeError):
        raise ValidationFailed("cursor is not one this API gave out; pass next_cursor from "
                               "the previous page", field="cursor") from None


def check_limit(limit: int, most: int = MAX_LIMIT) -> None:
    if not 1 <= limit <= most:
        raise ValidationFailed(f"limit must be 1 to {most}; got {limit}", field="limit")


def keyset(query: Query, created_at: InstrumentedAttribute[Any],
           row_id: InstrumentedAttribute[Any], cursor: str | None, limit: int, *,
           oldest_first: bool = False, most: int = MAX_LIMIT) -> Query:
    """``query`` ordered newest first (or oldest first), after ``cursor``, one row more
    than a page (so the page knows whether another follows)."""
    check_limit(limit, most)
    if oldest_first:
        query = query.order_by(created_at, row_id).limit(limit + 1)
    else:
        query = query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    if cursor:
        after = tuple_(*decode(cursor))
        key = tuple_(created_at, row_id)
        query = query.where(key > after if oldest_first else key < after)
    return query


def next_cursor(rows: Sequence[Any], limit: int, key: str = "created_at") -> str | None:
    """The cursor after a page of ``rows`` as ``keyset`` fetched them (rows with ``key``,
    by default ``created_at``, and ``id``); None when there is no more."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode(getattr(last, key), last.id)
