"""API keys, managed by an owner: created for a user of the tenant (the key itself is in
the answer to that one request and nowhere else, ever: only its hash is stored), listed
by name and prefix, and revoked."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from store.accounts import Caller, hash_key, issue_api_key
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import ApiKey, Role, User
from store.models.base import utcnow
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.fields import Name


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    user_id: uuid.UUID
    user: str = Field(description="the email of the user it acts as")
    created_at: datetime
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the key: shown this once, never again; keep it safe")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="what it is for, e.g. 'ci' or 'zapier'")
    user_id: uuid.UUID | None = Field(None, description="the user it acts as (with their "
                                      "role); you when left out")


def _public(row: ApiKey, email: str) -> ApiKeyPublic:
    return ApiKeyPublic(id=row.id, name=row.name, prefix=row.prefix, user_id=row.user_id,
                        user=email, created_at=row.created_at, last_used_at=row.last_used_at,
                        revoked_at=row.revoked_at)


async def create_key(services: Services, caller: Caller, body: ApiKeyCreate) -> ApiKeyCreated:
    require(caller, Role.owner, "creating an API key")
    async with services.db.transaction(caller.tenant_id) as session:
        user = await session.get(User, body.user_id or caller.user_id)
        if user is None:
            raise ValidationFailed(f"no user {body.user_id} in this tenant", field="user_id")
        key = await issue_api_key(session, user, body.name)
        row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
        assert row is not None
        audit(session, caller, "api_key.create", "api_key", row.id, name=row.name,
              prefix=row.prefix, user=user.email)
        return ApiKeyCreated(**_public(row, user.email).model_dump(), key=key)


async def list_keys(services: Services, caller: Caller, user_id: uuid.UUID | None = None,
                    revoked: bool | None = None, cursor: str | None = None,
                    limit: int = 50) -> paging.Page[ApiKeyPublic]:
    require(caller, Role.owner, "listing API keys")
    query = paging.keyset(select(ApiKey, User.email).join(User, User.id == ApiKey.user_id),
                          ApiKey.created_at, ApiKey.id, cursor, limit)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    if revoked is not None:
        query = query.where(ApiKey.revoked_at.is_not(None) if revoked
                            else ApiKey.revoked_at.is_(None))
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.execute(query)).all()
    return paging.Page[ApiKeyPublic](
        items=[_public(row, email) for row, email in rows[:limit]],
        next_cursor=paging.next_cursor([row for row, _ in rows], limit))


async def revoke_key(services: Services, caller: Caller, key_id: uuid.UUID) -> ApiKeyPublic:
    """At once: the next request with it is a 401."""
    require(caller, Role.owner, "revoking an API key")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await session.get(ApiKey, key_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no API key {key_id}")
        if row.revoked_at is not None:
            raise Conflict(f"API key {row.prefix}... was revoked already")
        row.revoked_at = utcnow()
        audit(session, caller, "api_key.revoke", "api_key", row.id, name=row.name,
              prefix=row.prefix)
        email = await session.scalar(select(User.email).where(User.id == row.user_id))
        return _public(row, email or "")
