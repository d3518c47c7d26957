"""How things are going: health logs, API usage per hour, and the insights drawn from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import EMBEDDING_DIM, Base, HasId, TenantScoped, utcnow
from store.models.knowledge import TEXT_HASH

SEVERITIES = ("info", "warning", "error", "critical")
INSIGHT_TYPES = ("optimization", "warning", "error", "prediction", "recommendation")
PRIORITIES = ("low", "medium", "high", "critical")
# what is embedded and searched of each row (migration 0008 builds the same columns)
LOG_TEXT = "coalesce(message, '')"
INSIGHT_TEXT = ("coalesce(title, '') || '. ' || coalesce(description, '') || ' ' || "
                "coalesce(recommendation, '')")


def _search_indexes(table: str) -> tuple[Index, Index]:
    """Full-text (GIN) index, and the rows of a text (a search's hit is the newest row of
    each distinct text; the vectors are per text, in store.models.knowledge)."""
    return (Index(f"ix_{table}_search_vector", "search_vector", postgresql_using="gin"),
            Index(f"ix_{table}_text_hash", "tenant_id", "text_hash", "created_at"))


class HealthLog(HasId, TenantScoped, Base):
    __tablename__ = "health_logs"
    __table_args__ = (Index("ix_health_logs_tenant_open", "tenant_id", "created_at",
                            postgresql_where=text("resolved_at IS NULL")),
                      *_search_indexes("health_logs"))

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))  # auth, rate_limited, provider_down ...
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIM))
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(f"to_tsvector('english', {LOG_TEXT})", persisted=True),
        deferred=True)
    text_hash: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), Computed(TEXT_HASH.format(text=LOG_TEXT), persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)


class ApiUsage(HasId, TenantScoped, Base):
    """Calls to a provider per integration per hour (the hour is truncated UTC)."""

    __tablename__ = "api_usage"
    __table_args__ = (UniqueConstraint("tenant_id", "integration_id", "hour"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)
    # what the calls cost against the provider's quota: one a call, except where the
    # provider counts otherwise (a Google Ads mutate, one per operation)
    operations: Mapped[int] = mapped_column(Integer, default=0)


class HealthDay(HasId, TenantScoped, Base):
    """An integration's health score through one UTC day: the latest and the lowest of the
    day's refreshes, so a chart can show the score over time (scores are otherwise worked
    out afresh and only the current one is kept on the integration)."""

    __tablename__ = "health_days"
    __table_args__ = (UniqueConstraint("tenant_id", "integration_id", "day"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    lowest: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConnectusInsight(HasId, TenantScoped, Base):
    __tablename__ = "connectus_insights"
    __table_args__ = (UniqueConstraint("tenant_id", "fingerprint"),
                      *_search_indexes("connectus_insights"))

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    insight_type: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    recommendation: Mapped[str] = mapped_column(Text, default="")
    action_items: Mapped[list[Any]] = mapped_column(default=list)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)
    is_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIM))
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(f"to_tsvector('english', {INSIGHT_TEXT})", persisted=True),
        deferred=True)
    text_hash: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), Computed(TEXT_HASH.format(text=INSIGHT_TEXT), persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    # -- the insight jobs (jobs/insights/): which detector, its numbers, and the life of
    # the condition: opened (again), last seen, cleared, and the Slack warning of this opening
    detector: Mapped[str] = mapped_column(String(40), default="", server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                   server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(20))  # "condition" or "person"
    times_opened: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InsightSettings(TenantScoped, Base):
    """A tenant's choices about insights: whether frequency advice is applied by itself,
    and whether high-priority insights warn in Slack."""

    __tablename__ = "insight_settings"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    auto_tune_frequency: Mapped[bool] = mapped_column(Boolean, default=False)
    slack_warnings: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id"),)
