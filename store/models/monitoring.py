"""How things are going: health logs, API usage per hour, and the insights drawn from them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import EMBEDDING_DIM, Base, HasId, TenantScoped, utcnow

SEVERITIES = ("info", "warning", "error", "critical")
INSIGHT_TYPES = ("optimization", "warning", "error", "prediction", "recommendation")
PRIORITIES = ("low", "medium", "high", "critical")
# what is embedded and searched of each row (migration 0008 builds the same columns)
LOG_TEXT = "coalesce(message, '')"
INSIGHT_TEXT = ("coalesce(title, '') || '. ' || coalesce(description, '') || ' ' || "
                "coalesce(recommendation, '')")


def _search_indexes(table: str) -> tuple[Index, Index]:
    """Full-text (GIN) and cosine nearest-neighbour (HNSW) indexes of a searchable table."""
    return (Index(f"ix_{table}_search_vector", "search_vector", postgresql_using="gin"),
            Index(f"ix_{table}_embedding", "embedding", postgresql_using="hnsw",
                  postgresql_with={"m": 16, "ef_construction": 64},
                  postgresql_ops={"embedding": "vector_cosine_ops"}))


class HealthLog(HasId, TenantScoped, Base):
    __tablename__ = "health_logs"
    __table_args__ = _search_indexes("health_logs")

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))  # auth, rate_limited, provider_down ...
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIM))
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(f"to_tsvector('english', {LOG_TEXT})", persisted=True),
        deferred=True)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
