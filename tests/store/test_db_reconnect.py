"""A pooled connection that the server dropped (a restart, a failover, an idle timeout) is
noticed before use: the next request works instead of failing once per stale connection."""

import psycopg
from sqlalchemy import select, text

from store.db import Database
from store.models import IntegrationProvider
from tests.conftest import _libpq


async def test_a_connection_the_server_dropped_is_replaced_not_used(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.system_session() as session:
            backend = await session.scalar(text("SELECT pg_backend_pid()"))
        # the server ends that pooled connection behind the pool's back
        with psycopg.connect(_libpq(database_url, "postgres"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        async with db.system_session() as session:
            assert (await session.scalars(select(IntegrationProvider.name))).all()
            assert await session.scalar(text("SELECT pg_backend_pid()")) != backend
    finally:
        await db.dispose()
