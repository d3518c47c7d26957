"""What workflows leave behind: Connectus's own CRM contacts, and the provider events no
workflow could take."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, HasId, TenantScoped, Timestamps, utcnow

WORKFLOW_DEAD_LETTER_STATUSES = ("open", "replayed", "discarded")


class CrmContact(HasId, TenantScoped, Timestamps, Base):
    """A contact in Connectus's own CRM (the ``digisol_crm`` target). ``key`` is the
    normalised e-mail, or ``provider:id`` for a contact without one, so writing the
    same person again updates them instead of adding a second contact."""

    __tablename__ = "crm_contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    tenant_id_index = False  # uq_crm_contacts_tenant_id leads with it

    key: Mapped[str] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # every field as written
    source: Mapped[str | None] = mapped_column(String(200))  # e.g. "hubspot:51"


class WorkflowDeadLetter(HasId, TenantScoped, Base):
    """A stored provider event that no active workflow took although the integration has
    webhook workflows (one paused, or listening for another event name): kept with why,
    to be replayed once a workflow can take it, or discarded."""

    __tablename__ = "workflow_dead_letters"
    __table_args__ = (UniqueConstraint("webhook_event_id"),)

    webhook_event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_events.id", ondelete="CASCADE"))
    integration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    runs: Mapped[list[Any]] = mapped_column(default=list)  # the run ids a replay started
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
