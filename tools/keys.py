"""Operations on stored secrets that cross tenants on purpose (owner of the installation)."""

from __future__ import annotations

from sqlalchemy import select

from store.models import Integration
from tools.context import Services


async def rotate_all(services: Services) -> int:
    """Re-encrypt every credential under the newest key, all in one transaction:
    if any value cannot be read, nothing is rewritten."""
    count = 0
    async with services.db.transaction(None) as session:
        rows = await session.scalars(
            select(Integration).where(Integration.auth_credentials.is_not(None)))
        for integration in rows:
            assert integration.auth_credentials is not None
            integration.auth_credentials = services.vault.rotate(integration.auth_credentials)
            count += 1
    return count
