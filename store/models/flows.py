"""What a sync leaves for a person: records it could not take, and true conflicts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, HasId, TenantScoped, utcnow

DEAD_LETTER_STATUSES = ("open", "replayed", "discarded")
CONFLICT_STATUSES = ("open", "resolved")


class DeadLetter(HasId, TenantScoped, Base):
    """A record a run could not map or write, with why; the run went on without it.
    Replayed after a mapping fix, or discarded by a person."""

    __tablename__ = "dead_letters"

    data_flow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("data_flows.id", ondelete="CASCADE"), index=True)
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("sync_runs.id", ondelete="SET NULL"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"field": "email", "rule": 2, "message": "..."}]
    errors: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncConflict(HasId, TenantScoped, Base):
    """Both sides changed the same field of one record since the last sync: kept, with
    both versions, until a person says which one wins."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (  # a record has at most one open conflict, re-seen versions update it
        Index("uq_sync_conflicts_one_open", "data_flow_id", "external_id", unique=True,
              postgresql_where=text("status = 'open'")),
    )

    data_flow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("data_flows.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[Any]] = mapped_column(default=list)  # Connectus's field names
    # each field's value on each side, and the value both last agreed on
    local: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote: Mapped[dict[str, Any]] = mapped_column(default=dict)
    base: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("sync_runs.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # re-seen
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)  # "kept local" / "kept remote" / note
