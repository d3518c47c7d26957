"""The chat's conversations, kept for the sidebar and for resuming them.

A Chainlit thread is one conversation; its steps (messages, tool steps) and elements
are stored as the dicts Chainlit hands over, so the chat can show them again exactly.
Each conversation has one agent thread (``agent_thread_id``), the LangGraph thread its
questions go to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from store.models.base import Base, TenantScoped, Timestamps, utcnow


class ChatThread(TenantScoped, Timestamps, Base):
    __tablename__ = "chat_threads"

    # Chainlit names its threads (a UUID string) before anything is stored
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    agent_thread_id: Mapped[str | None] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[Any]] = mapped_column(default=list)


class _ThreadPart(TenantScoped):
    """A step or element of a conversation, as the dict Chainlit made of it."""

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @declared_attr
    def thread_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(UUID(as_uuid=True),
                             ForeignKey("chat_threads.id", ondelete="CASCADE"), index=True)


class ChatStep(_ThreadPart, Base):
    __tablename__ = "chat_steps"  # data: Chainlit's StepDict


class ChatElement(_ThreadPart, Base):
    __tablename__ = "chat_elements"  # data: Chainlit's ElementDict
