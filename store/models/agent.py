"""The agent's writes waiting for a person, and what undoes them once done.

One row per proposed write: ``pending`` until a person confirms or cancels it; a
confirmed write keeps its result and, where one exists, its inverse (the call that
puts things back), offered by ``undo`` until ``undo_until``. The tenant's thresholds
(how big a write a member may confirm) are a row of their own, defaults when absent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, HasId, TenantScoped, utcnow
from store.models.tenancy import Role

CONFIRMATION_STATUSES = ("pending", "confirmed", "cancelled", "done", "failed", "undone")


class AgentConfirmation(HasId, TenantScoped, Base):
    __tablename__ = "agent_confirmations"
    __table_args__ = (UniqueConstraint("tenant_id", "thread_id", "tool_call_id"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    thread_id: Mapped[str] = mapped_column(String(100), index=True)
    tool_call_id: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)  # resolved: ids, not names
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    needs_role: Mapped[str] = mapped_column(String(20), default=Role.member.value)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    result: Mapped[dict[str, Any] | None] = mapped_column()
    inverse: Mapped[dict[str, Any] | None] = mapped_column()  # {"tool", "args", "summary"}
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undo_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentPolicy(HasId, TenantScoped, Base):
    """Above these a write needs an admin to confirm it."""

    __tablename__ = "agent_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    admin_above_records: Mapped[int] = mapped_column(Integer, default=10_000)
    admin_above_quota_share: Mapped[float] = mapped_column(Float, default=0.5)
    undo_window_s: Mapped[int] = mapped_column(Integer, default=24 * 3600)
