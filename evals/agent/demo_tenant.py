"""The demo tenant's owner as a caller, for asking the agent as a person would.

Found if `connectus up` already seeded it (its printed key and its integrations are left
alone: an eval must not revoke a key someone is using); seeded once otherwise."""

from __future__ import annotations

from sqlalchemy import func, select

from store.accounts import Caller
from store.models import Integration, Tenant, User
from tools.context import Services
from tools.demo import DEMO_EMAIL, DEMO_SLUG, seed_demo, seed_sandbox_integrations
from tools.demo_history import seed_demo_history


async def demo_caller(services: Services, sandbox_url: str | None) -> Caller:
    async with services.db.transaction(None) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
        owner = None if tenant is None else await session.scalar(
            select(User).where(User.tenant_id == tenant.id, User.email == DEMO_EMAIL))
    if tenant is None or owner is None:
        demo = await seed_demo(services, services.settings.demo_api_key)
        tenant, owner = demo.tenant, demo.owner
        if sandbox_url:
            await seed_sandbox_integrations(services, demo, sandbox_url)
    elif sandbox_url:
        async with services.db.transaction(tenant.id) as session:
            count = await session.scalar(select(func.count()).select_from(Integration))
        if not count:
            from tools.demo import Demo

            await seed_sandbox_integrations(services, Demo(tenant, owner, ""), sandbox_url)
    if sandbox_url:
        # the week `connectus up` shows (runs, failures, logs, usage), so the answers have
        # figures to state and the grounding check has them to check
        await seed_demo_history(services, tenant.id, owner.id)
    return Caller(tenant_id=tenant.id, user_id=owner.id, role=owner.role, email=owner.email)
