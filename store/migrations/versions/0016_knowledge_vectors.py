"""Retrieval by meaning over distinct texts: one vector per distinct text of a tenant's
health logs or insights (knowledge_vectors, an HNSW graph per kind), found from a row by
the hash of its text, instead of an HNSW index over every row.

Logs repeat themselves, and an HNSW graph over many identical vectors is a poor one (the
copies fill each other's neighbour lists and trap the search): at 100,000 logs of 1,900
distinct lines the row index found 0.6 of the exact top 10 (docs/retrieval.md).

An existing installation upgrades in place: the generated hash columns are filled by the
ALTER, and the vectors rows already have are copied, one per distinct text, so nothing is
embedded again.

Revision ID: 0016
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, kind, the text that is embedded; the same as migration 0008's)
TABLES = (
    ("health_logs", "log", "coalesce(message, '')"),
    ("connectus_insights", "insight",
     "coalesce(title, '') || '. ' || coalesce(description, '') || ' ' || "
     "coalesce(recommendation, '')"),
)
HNSW = "WITH (m = 16, ef_construction = 64)"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE knowledge_vectors (
            id uuid NOT NULL,
            tenant_id uuid NOT NULL,
            kind varchar(10) NOT NULL,
            text_hash uuid NOT NULL,
            embedding vector(384) NOT NULL,
            created_at timestamp with time zone NOT NULL,
            CONSTRAINT pk_knowledge_vectors PRIMARY KEY (id),
            CONSTRAINT fk_knowledge_vectors_tenant_id_tenants FOREIGN KEY (tenant_id)
                REFERENCES tenants (id) ON DELETE CASCADE,
            CONSTRAINT uq_knowledge_vectors_tenant_id UNIQUE (tenant_id, kind, text_hash))""")
    op.execute("CREATE INDEX ix_knowledge_vectors_tenant_id ON knowledge_vectors (tenant_id)")
    for table, kind, text in TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN text_hash uuid "
                   f"GENERATED ALWAYS AS (md5({text})::uuid) STORED")
        op.execute(f"CREATE INDEX ix_{table}_text_hash ON {table} "
                   f"(tenant_id, text_hash, created_at)")
        op.execute(f"""
            INSERT INTO knowledge_vectors (id, tenant_id, kind, text_hash, embedding, created_at)
            SELECT DISTINCT ON (tenant_id, text_hash) gen_random_uuid(), tenant_id, '{kind}',
                   text_hash, embedding, now()
            FROM {table} WHERE embedding IS NOT NULL
            ORDER BY tenant_id, text_hash, created_at DESC""")  # noqa: S608  (our constants)
        op.execute(f"DROP INDEX ix_{table}_embedding")
        # built after the copy: one build is faster than as many inserts into a graph
        op.execute(f"CREATE INDEX ix_knowledge_vectors_{kind}_embedding ON knowledge_vectors "
                   f"USING hnsw (embedding vector_cosine_ops) {HNSW} WHERE kind = '{kind}'")


def downgrade() -> None:
    for table, _kind, _text in TABLES:
        op.execute(f"CREATE INDEX ix_{table}_embedding ON {table} "
                   f"USING hnsw (embedding vector_cosine_ops) {HNSW}")
        op.execute(f"DROP INDEX ix_{table}_text_hash")
        op.execute(f"ALTER TABLE {table} DROP COLUMN text_hash")
    op.execute("DROP TABLE knowledge_vectors")
