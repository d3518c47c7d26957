"""Who is in the chat: a password login, and the caller a chat session acts as, read
afresh from the users table (a role changed since login counts at once)."""

from __future__ import annotations

import uuid

from store.accounts import Caller
from store.errors import AuthenticationFailed
from store.models import Tenant, User
from store.passwords import REFUSED, check_password
from tools.context import Services


async def log_in(services: Services, email: str, password: str) -> Caller:
    """Raises AuthenticationFailed with the same message for an unknown e-mail and a
    wrong password."""
    if not email or not password:
        raise AuthenticationFailed(REFUSED)
    async with services.db.transaction(None) as session:  # the e-mail names the tenant
        return await check_password(session, email, password)


async def caller_for(services: Services, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Caller:
    async with services.db.session(tenant_id) as session:
        user = await session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise AuthenticationFailed("this chat user no longer exists; log in again")
    return Caller(tenant_id=user.tenant_id, user_id=user.id, role=user.role, email=user.email)


async def display_name(services: Services, caller: Caller) -> str:
    async with services.db.session(caller.tenant_id) as session:
        user = await session.get(User, caller.user_id)
        tenant = await session.get(Tenant, caller.tenant_id)
    name = (user.name if user else "") or caller.email
    return f"{name} ({tenant.name})" if tenant else name


async def find_user(services: Services, user_id: uuid.UUID) -> Caller | None:
    """System session: a chat user is named by its id alone (ui/chat/data_layer.py)."""
    async with services.db.system_session() as session:
        user = await session.get(User, user_id)
    if user is None:
        return None
    return Caller(tenant_id=user.tenant_id, user_id=user.id, role=user.role, email=user.email)
