"""The PostgreSQL checkpointer that keeps threads, on the same database as everything else.

Its tables are its own (langgraph-checkpoint-postgres migrates them itself), made on the
first use in each process; setup is idempotent, so several processes starting at once
are fine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from tools.context import Services

_set_up: set[str] = set()


def libpq_url(url: str) -> str:
    """psycopg's own URL form, from SQLAlchemy's ``postgresql+psycopg://``."""
    return "postgresql://" + url.split("://", 1)[1]


@asynccontextmanager
async def checkpointer(services: Services) -> AsyncIterator[AsyncPostgresSaver]:
    url = libpq_url(services.db.url)
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        if url not in _set_up:
            await saver.setup()
            _set_up.add(url)
        yield saver
