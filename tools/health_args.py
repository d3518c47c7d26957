"""The arguments the health and usage operations share, checked once: an integration
given as an id, a moment given as a datetime or ISO 8601 text. A bad one is a 422 that
names the argument; an integration this tenant does not have is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ValidationFailed
from store.queries import load_integration


def integration_id(value: uuid.UUID | str | None, field: str = "integration") -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} must be an integration id (a UUID); got "
                               f"{str(value)[:60]!r}", field=field) from None


async def known_integration(session: AsyncSession, value: uuid.UUID | str | None,
                            field: str = "integration") -> uuid.UUID | None:
    """The id, once this tenant is seen to have it (NotFound otherwise)."""
    found = integration_id(value, field)
    if found is not None:
        await load_integration(session, found)
    return found


def moment(value: datetime | str | None, field: str) -> datetime | None:
    """A datetime; text in ISO 8601; a moment without a zone is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"{field} must be an ISO 8601 date or time such as "
                                   f"2026-12-01T09:00:00Z; got {text[:60]!r}",
                                   field=field) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
