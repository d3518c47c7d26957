"""Chat login: an e-mail and password checked against our users, the Chainlit user
carrying who they are (tenant, user, role) in its metadata, and the Caller every tool call
of the session uses, read from our users table, never from what the browser sends."""

from __future__ import annotations

import uuid
from typing import Any

import chainlit as cl

from tools import chat_login
from tools.context import AuthenticationFailed, Caller
from ui.chat.services import current


async def log_in(email: str, password: str) -> cl.User | None:
    services = current()
    try:
        caller = await chat_login.log_in(services, email, password)
    except AuthenticationFailed:
        return None  # Chainlit shows one refusal for an unknown e-mail and a wrong password
    return cl.User(identifier=str(caller.user_id),
                   display_name=await chat_login.display_name(services, caller),
                   metadata=metadata_of(caller))


def metadata_of(caller: Caller) -> dict[str, Any]:
    return {"tenant_id": str(caller.tenant_id), "user_id": str(caller.user_id),
            "role": caller.role.value, "email": caller.email}


async def session_caller() -> Caller:
    """The logged-in user as a Caller. The user object is the one our login signed (its
    JWT) and the role is re-read, so a demoted user loses rights at once."""
    user = cl.user_session.get("user")
    if user is None:
        raise AuthenticationFailed("log in to use the chat")
    meta = user.metadata or {}
    return await chat_login.caller_for(current(), uuid.UUID(str(meta["tenant_id"])),
                                       uuid.UUID(str(meta["user_id"])))
