"""The vectors retrieval by meaning searches: one per distinct text of a tenant's health
logs or insights, not one per row.

Logs repeat themselves (the same 429 every few minutes), and an HNSW graph over many
identical vectors is a poor graph: the copies fill each other's neighbour lists, a greedy
search gets stuck among them, and its top k are k copies of one line. So each distinct
text is embedded and indexed once, and a row finds its vector by the hash of its text
(the ``text_hash`` column of health_logs and connectus_insights).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import DateTime, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import EMBEDDING_DIM, Base, HasId, TenantScoped, utcnow

KINDS = ("log", "insight")
HNSW = {"m": 16, "ef_construction": 64}
# the hash a row's text is found by: md5 as a uuid is 16 bytes and immutable, so it can
# be a generated column (migration 0016 builds the same expression)
TEXT_HASH = "md5({text})::uuid"


def _hnsw(kind: str) -> Index:
    """One graph per kind: a log search never walks through insights, and the planner
    picks the index of the kind the query names."""
    return Index(f"ix_knowledge_vectors_{kind}_embedding", "embedding", postgresql_using="hnsw",
                 postgresql_with=HNSW, postgresql_ops={"embedding": "vector_cosine_ops"},
                 postgresql_where=text(f"kind = '{kind}'"))


class KnowledgeVector(HasId, TenantScoped, Base):
    __tablename__ = "knowledge_vectors"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "text_hash"),
                      *(_hnsw(kind) for kind in KINDS))

    kind: Mapped[str] = mapped_column(String(10))
    text_hash: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIM))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
