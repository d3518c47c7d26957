"""Tenants, users and API keys: creating them and resolving a bearer key to a caller."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import AuthenticationFailed, Conflict, ValidationFailed
from store.models import ApiKey, Role, Tenant, User
from store.models.base import utcnow

KEY_PREFIX = "cx_"
LAST_USED_PRECISION = timedelta(minutes=1)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,98}[a-z0-9]$")


@dataclass(frozen=True)
class Caller:
    """Who is asking: resolved from an API key (REST, CLI) or a chat session."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    email: str = ""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_tenant(session: AsyncSession, name: str, slug: str) -> Tenant:
    """Needs a system session: a tenant is what scopes everything else."""
    if not _SLUG.match(slug):
        raise ValidationFailed("lowercase letters, digits and dashes, 3-100 long", field="slug")
    existing = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if existing is not None:
        raise Conflict(f"a tenant with slug {slug!r} already exists")
    tenant = Tenant(name=name, slug=slug)
    session.add(tenant)
    await session.flush()
    return tenant


async def create_user(session: AsyncSession, tenant_id: uuid.UUID, email: str,
                      role: Role = Role.member, name: str = "") -> User:
    if "@" not in email:
        raise ValidationFailed("is not an email address", field="email")
    user = User(tenant_id=tenant_id, email=email.lower(), role=role, name=name)
    session.add(user)
    await session.flush()
    return user


async def issue_api_key(session: AsyncSession, user: User, name: str = "default",
                        key: str | None = None) -> str:
    """Returns the key itself, once; only its hash is stored."""
    key = key or new_key()
    session.add(ApiKey(tenant_id=user.tenant_id, user_id=user.id, name=name,
                       prefix=key[:10], key_hash=hash_key(key)))
    await session.flush()
    return key


async def revoke_api_key(session: AsyncSession, key: str) -> bool:
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


async def resolve_api_key(session: AsyncSession, key: str | None) -> Caller:
    """System session: the key is what tells us the tenant. Raises AuthenticationFailed."""
    if not key:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer <key>'")
    row = await session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == hash_key(key)))
    found = row.first()
    if found is None:
        raise AuthenticationFailed("unknown API key")
    api_key, user = found
    if api_key.revoked_at is not None:
        raise AuthenticationFailed("this API key was revoked")
    now = utcnow()
    # a write on every request would put an UPDATE on the hot path: a minute is precise enough
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        api_key.last_used_at = now
    return Caller(tenant_id=user.tenant_id, user_id=user.id, role=user.role, email=user.email)
