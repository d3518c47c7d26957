"""Chainlit's data layer on our store (tools/chat_threads.py): conversations, their steps
and elements, tenant-scoped.

Inside a chat session the tenant is the logged-in user's; for Chainlit's HTTP routes
(the sidebar's list, a thread's page, rename, delete) it is the thread's own tenant,
found by its id, after Chainlit has checked the thread's author is the person asking.
A chat user's identifier is our user id, so it names one user of one tenant.
"""

from __future__ import annotations

import uuid
from typing import Any

import chainlit as cl
from chainlit.data.base import BaseDataLayer
from chainlit.types import Feedback, PageInfo, PaginatedResponse, Pagination, ThreadFilter

from tools import chat_login, chat_threads
from ui.chat.auth import metadata_of
from ui.chat.services import current


def _session_tenant() -> uuid.UUID | None:
    try:
        user = cl.context.session.user
    except Exception:  # outside a chat session (an HTTP route): no context at all
        return None
    meta = getattr(user, "metadata", None) or {}
    return uuid.UUID(str(meta["tenant_id"])) if "tenant_id" in meta else None


async def _tenant_for(thread_id: str) -> uuid.UUID | None:
    owner = await chat_threads.owner_of(current(), thread_id)
    if owner is not None:
        return owner[0]
    return _session_tenant()


class StoreDataLayer(BaseDataLayer):
    async def get_user(self, identifier: str) -> cl.PersistedUser | None:
        try:
            user_id = uuid.UUID(identifier)
        except ValueError:
            return None
        caller = await chat_login.find_user(current(), user_id)
        if caller is None:
            return None
        return cl.PersistedUser(id=identifier, identifier=identifier, createdAt="",
                                metadata=metadata_of(caller))

    async def create_user(self, user: cl.User) -> cl.PersistedUser | None:
        return await self.get_user(user.identifier)  # users are made by us, not the chat

    async def get_thread_author(self, thread_id: str) -> str:
        owner = await chat_threads.owner_of(current(), thread_id)
        return str(owner[1]) if owner and owner[1] else ""

    async def update_thread(self, thread_id: str, name: str | None = None,
                            user_id: str | None = None, metadata: dict[str, Any] | None = None,
                            tags: list[str] | None = None) -> None:
        tenant = await _tenant_for(thread_id)
        if tenant is None:
            return
        user = None
        if user_id:
            found = await chat_login.find_user(current(), uuid.UUID(user_id))
            if found is None or found.tenant_id != tenant:
                return  # a thread of one tenant never gets another's author
            user = found.user_id
        await chat_threads.save_thread(current(), tenant, thread_id, user_id=user, name=name,
                                       metadata=metadata, tags=tags)

    async def get_thread(self, thread_id: str) -> Any:
        tenant = await _tenant_for(thread_id)
        return await chat_threads.get_thread(current(), tenant, thread_id) if tenant else None

    async def delete_thread(self, thread_id: str) -> None:
        tenant = await _tenant_for(thread_id)
        if tenant is not None:
            await chat_threads.delete_thread(current(), tenant, thread_id)

    async def list_threads(self, pagination: Pagination,
                           filters: ThreadFilter) -> PaginatedResponse[Any]:
        empty: PaginatedResponse[Any] = PaginatedResponse(
            pageInfo=PageInfo(hasNextPage=False, startCursor=None, endCursor=None), data=[])
        if not filters.userId:
            return empty
        caller = await chat_login.find_user(current(), uuid.UUID(filters.userId))
        if caller is None:
            return empty
        rows, more = await chat_threads.list_threads(
            current(), caller.tenant_id, caller.user_id, first=pagination.first,
            cursor=pagination.cursor, search=filters.search)
        return PaginatedResponse(
            pageInfo=PageInfo(hasNextPage=more, startCursor=rows[0]["id"] if rows else None,
                              endCursor=rows[-1]["id"] if rows else None),
            data=rows)

    async def create_step(self, step_dict: Any) -> None:
        tenant = _session_tenant()
        if tenant is not None:
            await chat_threads.save_step(current(), tenant, dict(step_dict))

    async def update_step(self, step_dict: Any) -> None:
        await self.create_step(step_dict)

    async def delete_step(self, step_id: str) -> None:
        tenant = _session_tenant()
        if tenant is not None:
            await chat_threads.delete_step(current(), tenant, step_id)

    async def create_element(self, element: Any) -> None:
        tenant = _session_tenant()
        if tenant is not None:
            await chat_threads.save_element(current(), tenant, element.to_dict())

    async def get_element(self, thread_id: str, element_id: str) -> Any:
        tenant = await _tenant_for(thread_id)
        return await chat_threads.get_element(current(), tenant, element_id) if tenant else None

    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        tenant = _session_tenant()
        if tenant is not None:
            await chat_threads.delete_element(current(), tenant, element_id)

    async def upsert_feedback(self, feedback: Feedback) -> str:
        tenant = _session_tenant()
        if tenant is not None and feedback.forId:
            await chat_threads.set_feedback(current(), tenant, feedback.forId,
                                            {"value": feedback.value,
                                             "comment": feedback.comment})
        return feedback.forId or ""

    async def delete_feedback(self, feedback_id: str) -> bool:
        tenant = _session_tenant()
        return tenant is not None and await chat_threads.set_feedback(
            current(), tenant, feedback_id, None)

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        return None

    async def get_favorite_steps(self, user_id: str) -> list[Any]:
        return []
