"""Who is calling: a bearer API key resolved to its tenant, user and role."""

from __future__ import annotations

from store.accounts import Caller, resolve_api_key
from tools.context import Services


async def authenticate(services: Services, api_key: str | None) -> Caller:
    """Raises AuthenticationFailed for a missing, unknown or revoked key."""
    async with services.db.transaction(None) as session:
        return await resolve_api_key(session, api_key)
