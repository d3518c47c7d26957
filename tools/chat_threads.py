"""The chat's conversations on the store: what the Chainlit data layer (ui/chat/
data_layer.py) reads and writes. Every function but ``owner_of`` runs in a tenant
session; ``owner_of`` is the one cross-tenant read, the way a thread id is turned into
its tenant (as an API key is), before anything else of it is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import cast, delete, literal, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, insert

from store.models import ChatElement, ChatStep, ChatThread
from store.models.base import utcnow
from tools.context import Services

PAGE_MAX = 50


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(text: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return utcnow()


async def owner_of(services: Services,
                   thread_id: str) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """(tenant_id, user_id) of a conversation, or None when there is none by that id."""
    key = _uuid(thread_id)
    if key is None:
        return None
    async with services.db.system_session() as session:
        row = (await session.execute(select(ChatThread.tenant_id, ChatThread.user_id)
                                     .where(ChatThread.id == key))).first()
    return (row[0], row[1]) if row else None


async def save_thread(services: Services, tenant_id: uuid.UUID, thread_id: str, *,
                      user_id: uuid.UUID | None = None, name: str | None = None,
                      metadata: dict[str, Any] | None = None, tags: list[str] | None = None,
                      agent_thread_id: str | None = None) -> None:
    """Create or update; metadata is merged into what is kept, never replaced."""
    key = _uuid(thread_id)
    if key is None:
        return
    async with services.db.transaction(tenant_id) as session:
        # Chainlit saves a thread's steps and the thread itself at the same moment
        await session.execute(insert(ChatThread).values(id=key, tenant_id=tenant_id, meta={},
                                                        tags=[]).on_conflict_do_nothing())
        row = await session.scalar(select(ChatThread).where(ChatThread.id == key)
                                   .with_for_update())
        if row is None:  # another tenant's id: not ours to touch
            return
        if user_id is not None and row.user_id is None:
            row.user_id = user_id
        if name is not None:
            row.name = name[:255]
        if metadata:
            row.meta = {**(row.meta or {}), **metadata}
        if tags is not None:
            row.tags = list(tags)
        if agent_thread_id is not None and row.agent_thread_id is None:
            row.agent_thread_id = agent_thread_id
        row.updated_at = utcnow()


async def delete_thread(services: Services, tenant_id: uuid.UUID, thread_id: str) -> None:
    key = _uuid(thread_id)
    async with services.db.transaction(tenant_id) as session:
        await session.execute(delete(ChatThread).where(ChatThread.id == key))


async def ensure_thread(services: Services, tenant_id: uuid.UUID, thread_id: str) -> bool:
    """A step or element may come before its thread was named: make the thread first.
    False when the id is another tenant's (nothing is written)."""
    owner = await owner_of(services, thread_id)
    if owner is None:
        await save_thread(services, tenant_id, thread_id)
        return True
    return owner[0] == tenant_id


async def _save_part(services: Services, tenant_id: uuid.UUID,
                     model: type[ChatStep | ChatElement], part: dict[str, Any]) -> None:
    key, thread = _uuid(part.get("id")), str(part.get("threadId") or "")
    if key is None or not await ensure_thread(services, tenant_id, thread):
        return
    # an update names only what changed; None means "not sent", not "clear it". One
    # statement, as Chainlit may send a step's creation and its update at the same moment
    sent = {k: v for k, v in part.items() if v is not None}
    new = insert(model).values(id=key, tenant_id=tenant_id, thread_id=uuid.UUID(thread),
                               data=dict(part), created_at=_when(part.get("createdAt")))
    async with services.db.transaction(tenant_id) as session:
        await session.execute(new.on_conflict_do_update(
            index_elements=[model.id], where=model.tenant_id == tenant_id,
            set_={"data": model.data.op("||")(cast(sent, JSONB))}))


async def save_step(services: Services, tenant_id: uuid.UUID, step: dict[str, Any]) -> None:
    await _save_part(services, tenant_id, ChatStep, step)


async def delete_step(services: Services, tenant_id: uuid.UUID, step_id: str) -> None:
    async with services.db.transaction(tenant_id) as session:
        await session.execute(delete(ChatStep).where(ChatStep.id == _uuid(step_id)))


async def set_feedback(services: Services, tenant_id: uuid.UUID, step_id: str,
                       feedback: dict[str, Any] | None) -> bool:
    async with services.db.transaction(tenant_id) as session:
        row = await session.get(ChatStep, _uuid(step_id))
        if row is None:
            return False
        row.data = {**row.data, "feedback": feedback}
        return True


async def save_element(services: Services, tenant_id: uuid.UUID,
                       element: dict[str, Any]) -> None:
    await _save_part(services, tenant_id, ChatElement, element)


async def get_element(services: Services, tenant_id: uuid.UUID,
                      element_id: str) -> dict[str, Any] | None:
    async with services.db.session(tenant_id) as session:
        row = await session.get(ChatElement, _uuid(element_id))
    return dict(row.data) if row else None


async def delete_element(services: Services, tenant_id: uuid.UUID, element_id: str) -> None:
    async with services.db.transaction(tenant_id) as session:
        await session.execute(delete(ChatElement).where(ChatElement.id == _uuid(element_id)))


def _thread_dict(row: ChatThread, author: str | None, steps: list[dict[str, Any]],
                 elements: list[dict[str, Any]]) -> dict[str, Any]:
    metadata = dict(row.meta or {})
    if row.agent_thread_id:
        metadata["agent_thread_id"] = row.agent_thread_id
    return {"id": str(row.id), "createdAt": _iso(row.created_at), "name": row.name,
            "userId": str(row.user_id) if row.user_id else None, "userIdentifier": author,
            "tags": list(row.tags or []), "metadata": metadata, "steps": steps,
            "elements": elements}


async def get_thread(services: Services, tenant_id: uuid.UUID,
                     thread_id: str) -> dict[str, Any] | None:
    """Chainlit's ThreadDict, steps in the order they were made. The author's identifier
    is the user's id (ui/chat/auth.py)."""
    key = _uuid(thread_id)
    async with services.db.session(tenant_id) as session:
        row = await session.get(ChatThread, key)
        if row is None:
            return None
        steps = [s.data for s in await session.scalars(
            select(ChatStep).where(ChatStep.thread_id == key)
            .order_by(ChatStep.created_at, ChatStep.id))]
        elements = [e.data for e in await session.scalars(
            select(ChatElement).where(ChatElement.thread_id == key)
            .order_by(ChatElement.created_at))]
    return _thread_dict(row, str(row.user_id) if row.user_id else None, steps, elements)


async def list_threads(services: Services, tenant_id: uuid.UUID, user_id: uuid.UUID, *,
                       first: int = 20, cursor: str | None = None,
                       search: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The user's conversations, newest first, without their steps; and whether more
    follow. The cursor is the last thread id of the page before."""
    size = min(max(first, 1), PAGE_MAX)
    query = select(ChatThread).where(ChatThread.user_id == user_id,
                                     ChatThread.name.is_not(None))
    if search:
        query = query.where(ChatThread.name.ilike(f"%{search}%"))
    async with services.db.session(tenant_id) as session:
        if cursor and (after := await session.get(ChatThread, _uuid(cursor))) is not None:
            query = query.where(tuple_(ChatThread.updated_at, ChatThread.id) <
                                tuple_(literal(after.updated_at), literal(after.id)))
        rows = list(await session.scalars(
            query.order_by(ChatThread.updated_at.desc(), ChatThread.id.desc())
            .limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return [_thread_dict(r, str(user_id), [], []) for r in rows], more
