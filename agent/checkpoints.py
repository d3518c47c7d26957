"""The PostgreSQL checkpointer that keeps threads, on the same database as everything else.

Its tables are its own (langgraph-checkpoint-postgres migrates them itself), made on the
first use in each process. Its setup is idempotent but not safe to run twice at once (two
first questions on a fresh database collide creating its types), so it runs under a
PostgreSQL advisory lock: one process at a time, the rest find the tables made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection

from tools.context import Services

_set_up: set[str] = set()
SETUP_LOCK = 0x636B7074  # "ckpt": the advisory lock key of the checkpointer's setup


def libpq_url(url: str) -> str:
    """psycopg's own URL form, from SQLAlchemy's ``postgresql+psycopg://``."""
    return "postgresql://" + url.split("://", 1)[1]


async def _lock(conn: AsyncConnection[dict[str, Any]]) -> None:
    """Try, then wait outside any transaction: setup builds an index CONCURRENTLY, which
    waits for every open transaction, a blocked pg_advisory_lock call among them."""
    while True:
        cursor = await conn.execute(  # the saver's rows are dicts
            "SELECT pg_try_advisory_lock(%s) AS locked", (SETUP_LOCK,))
        row = await cursor.fetchone()
        if row and row["locked"]:
            return
        await asyncio.sleep(0.05)


@asynccontextmanager
async def checkpointer(services: Services) -> AsyncIterator[AsyncPostgresSaver]:
    url = libpq_url(services.db.url)
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        if url not in _set_up:
            conn = saver.conn
            assert isinstance(conn, AsyncConnection)  # from_conn_string: one connection
            await _lock(conn)
            try:
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
            _set_up.add(url)
        yield saver
