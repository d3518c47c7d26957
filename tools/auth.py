"""Who is calling: a bearer API key resolved to its tenant, user and role."""

from __future__ import annotations

from store.accounts import Caller, resolve_api_key
from tools.context import Services


async def authenticate(services: Services, api_key: str | None) -> Caller:
    """Raises AuthenticationFailed for a missing, unknown or revoked key."""
    async with services.db.transaction(None) as session:
        return await resolve_api_key(session, api_key)


async def demo_caller(services: Services) -> Caller:
    """The demo tenant's owner, for the terminal on a `connectus up` machine; raises
    AuthenticationFailed when there is no demo tenant (then give an API key)."""
    from sqlalchemy import select

    from store.errors import AuthenticationFailed
    from store.models import Tenant, User
    from tools.demo import DEMO_EMAIL, DEMO_SLUG

    async with services.db.transaction(None) as session:
        found = (await session.execute(
            select(User).join(Tenant, Tenant.id == User.tenant_id)
            .where(Tenant.slug == DEMO_SLUG, User.email == DEMO_EMAIL))).scalar()
    if found is None:
        raise AuthenticationFailed("no demo tenant here: pass --api-key (or set "
                                   "CONNECTUS_API_KEY), or run `connectus up` once")
    return Caller(tenant_id=found.tenant_id, user_id=found.id, role=found.role,
                  email=found.email)
