"""The tenant's people: listed, invited, given another role or removed, by an owner only.

A tenant always keeps an owner: the last one can be neither demoted nor removed (a 409),
since nobody else could then manage users and keys.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import MISSING, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Caller
from store.errors import Conflict, NotFound
from store.models import Role, User
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.fields import Name, PartialUpdate

# what a mail system accepts in practice; an invitation that cannot be delivered is a typo
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320,
                                         pattern=EMAIL.pattern)]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(description="their address, unique in the tenant")
    name: Name | None = None
    role: Role = Field(Role.member, description="owner, admin, member or viewer")


class UserUpdate(PartialUpdate):
    name: Name | MISSING = MISSING
    role: Role | MISSING = MISSING


async def list_users(services: Services, caller: Caller, role: Role | None = None,
                     cursor: str | None = None, limit: int = 50) -> paging.Page[UserPublic]:
    require(caller, Role.owner, "listing users")
    query = paging.keyset(select(User), User.created_at, User.id, cursor, limit)
    if role is not None:
        query = query.where(User.role == role)
    async with services.db.session(caller.tenant_id) as session:
        rows = list(await session.scalars(query))
    return paging.Page[UserPublic](items=[UserPublic.model_validate(r) for r in rows[:limit]],
                                   next_cursor=paging.next_cursor(rows, limit))


async def create_user(services: Services, caller: Caller, body: UserCreate) -> UserPublic:
    require(caller, Role.owner, "adding a user")
    async with services.db.transaction(caller.tenant_id) as session:
        if await session.scalar(select(User.id).where(User.email == body.email)):
            raise Conflict(f"{body.email} is a user here already",
                           details=[{"field": "email", "message": "taken"}])
        row = User(tenant_id=caller.tenant_id, email=body.email, name=body.name or "",
                   role=body.role)
        session.add(row)
        await session.flush()
        audit(session, caller, "user.create", "user", row.id, email=row.email,
              role=row.role.value)
        return UserPublic.model_validate(row)


async def _load(session: AsyncSession, user_id: uuid.UUID) -> User:
    row = await session.get(User, user_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no user {user_id}")
    return row


async def _keeps_an_owner(session: AsyncSession, leaving: User, what: str) -> None:
    """Refuse when ``leaving`` is the tenant's only owner."""
    if leaving.role is not Role.owner:
        return
    # FOR UPDATE on every owner row: two owners demoting each other at once take turns
    owners = list(await session.scalars(select(User.id).where(User.role == Role.owner)
                                        .with_for_update()))
    if len(owners) <= 1:
        raise Conflict(f"{leaving.email} is the only owner: make someone else owner before "
                       f"{what}", details=[{"field": "role", "message": "last owner"}])


async def update_user(services: Services, caller: Caller, user_id: uuid.UUID,
                      body: UserUpdate) -> UserPublic:
    require(caller, Role.owner, "changing a user")
    changes = body.model_dump(exclude_unset=True)
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, user_id)
        if changes.get("role", row.role) is not Role.owner:
            await _keeps_an_owner(session, row, "changing their role")
        before = {name: getattr(row, name) for name in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        audit(session, caller, "user.update", "user", row.id,
              before={k: str(v) for k, v in before.items()},
              after={k: str(v) for k, v in changes.items()})
        await session.flush()
        return UserPublic.model_validate(row)


async def remove_user(services: Services, caller: Caller, user_id: uuid.UUID) -> None:
    """Their API keys go with them; what they did stays in the audit log."""
    require(caller, Role.owner, "removing a user")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, user_id)
        await _keeps_an_owner(session, row, "removing them")
        audit(session, caller, "user.remove", "user", row.id, email=row.email)
        await session.delete(row)

