"""The demo tenant `make run` shows: an owner, an API key, sandbox integrations."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from connectors.registry import connector_names, connector_spec
from store.accounts import create_tenant, create_user, hash_key, issue_api_key
from store.models import ApiKey, Integration, IntegrationProvider, Role, Tenant, User
from store.models.base import utcnow
from store.passwords import hash_password, password_matches
from tools.context import Services
from tools.integrations import credential_hint_for

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.connectus.local"
AUTO_KEY_NAME = "demo (connectus up)"


@dataclass
class Demo:
    tenant: Tenant
    owner: User
    api_key: str
    password: str = ""  # the owner's chat password


async def set_demo_password(services: Services, demo: Demo, fixed: str | None = None) -> str:
    """The owner's chat password: the fixed one, else a new one each start (only its hash
    is stored, so an old one cannot be shown again)."""
    password = fixed or secrets.token_urlsafe(12)
    async with services.db.transaction(demo.tenant.id) as session:
        owner = await session.get(User, demo.owner.id)
        assert owner is not None
        if not (fixed and owner.password_hash and password_matches(owner.password_hash,
                                                                   password)):
            owner.password_hash = hash_password(password)
    demo.password = password
    return password


async def seed_demo(services: Services, fixed_key: str | None = None) -> Demo:
    """Idempotent. Without a fixed key, each call revokes the last auto-issued key and
    prints a new one: only key hashes are stored, so an old key cannot be shown again."""
    async with services.db.transaction(None) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
        if tenant is None:
            tenant = await create_tenant(session, "Demo Company", DEMO_SLUG)
        owner = await session.scalar(
            select(User).where(User.tenant_id == tenant.id, User.email == DEMO_EMAIL))
        if owner is None:
            owner = await create_user(session, tenant.id, DEMO_EMAIL, Role.owner, "Demo Owner")
        if fixed_key:
            existing = await session.scalar(
                select(ApiKey).where(ApiKey.key_hash == hash_key(fixed_key)))
            if existing is None:
                await issue_api_key(session, owner, "demo (CONNECTUS_DEMO_API_KEY)", fixed_key)
            elif existing.revoked_at is not None:
                existing.revoked_at = None
            key = fixed_key
        else:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.user_id == owner.id, ApiKey.name == AUTO_KEY_NAME,
                       ApiKey.revoked_at.is_(None))
                .values(revoked_at=utcnow()))
            key = await issue_api_key(session, owner, AUTO_KEY_NAME)
    return Demo(tenant=tenant, owner=owner, api_key=key)


async def seed_sandbox_integrations(services: Services, demo: Demo, sandbox_url: str) -> int:
    """One integration per provider, pointed at the simulator with its demo credential.
    Existing ones are re-pointed (the sandbox port may differ between runs)."""
    created = 0
    async with services.db.transaction(demo.tenant.id) as session:
        providers = {p.name: p for p in await session.scalars(select(IntegrationProvider))}
        for name in connector_names():
            spec = connector_spec(name)
            if spec is None or not spec.sandbox_demo or name not in providers:
                continue
            title = f"{providers[name].display_name} (sandbox)"
            settings = {**spec.sandbox_demo.get("settings", {}), "sandbox_url": sandbox_url}
            credentials = {k: (v.format(sandbox_url=sandbox_url) if isinstance(v, str) else v)
                           for k, v in spec.sandbox_demo.get("credentials", {}).items()}
            row = await session.scalar(select(Integration).where(Integration.name == title))
            if row is None:
                row = Integration(tenant_id=demo.tenant.id, provider_id=providers[name].id,
                                  name=title, status="pending")
                session.add(row)
                created += 1
            row.settings = settings
            row.auth_credentials = services.vault.encrypt(credentials)
            row.credential_hint = credential_hint_for(credentials)
    return created
