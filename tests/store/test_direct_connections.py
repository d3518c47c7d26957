"""A process's direct connections: each statement its own transaction, written whole or
not at all; a bad value reported as input; a connection the server dropped reported as a
reason to retry and replaced; never more open than the limit."""

import asyncio

import psycopg
import pytest

from store.db import Database
from store.direct import DirectConnections
from store.errors import TransientError, ValidationFailed
from tests.conftest import _libpq


async def test_each_statement_commits_whole_or_not_at_all(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.direct.connection() as connection:
            await connection.execute("CREATE TABLE direct_scratch (n int NOT NULL)")
            await connection.execute("INSERT INTO direct_scratch VALUES (1)")
        with pytest.raises(ValidationFailed, match="a value does not fit"):
            async with db.direct.connection() as connection:  # the good row is not kept
                await connection.execute("INSERT INTO direct_scratch VALUES (2), ('three')")
        async with db.direct.connection() as connection:  # the same one, usable again
            cursor = await connection.execute("SELECT count(*) FROM direct_scratch")
            assert (await cursor.fetchone() or [None])[0] == 1
            await connection.execute("DROP TABLE direct_scratch")
    finally:
        await db.dispose()


async def test_a_connection_the_server_dropped_is_a_transient_error_and_replaced(
        database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.direct.connection() as connection:
            cursor = await connection.execute("SELECT pg_backend_pid()")
            backend = (await cursor.fetchone() or [None])[0]
        with psycopg.connect(_libpq(database_url, "postgres"), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with pytest.raises(TransientError, match="connection was lost"):
            async with db.direct.connection() as connection:
                await connection.execute("SELECT 1")
        async with db.direct.connection() as fresh:
            cursor = await fresh.execute("SELECT pg_backend_pid()")
            assert (await cursor.fetchone() or [None])[0] != backend
    finally:
        await db.dispose()


async def test_no_more_connections_than_the_limit(database_url: str) -> None:
    direct = DirectConnections(database_url, size=2)
    backends: set[int] = set()

    async def one() -> None:
        async with direct.connection() as connection:
            cursor = await connection.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")
            backends.add((await cursor.fetchone() or [0])[0])

    try:
        await asyncio.gather(*(one() for _ in range(8)))
    finally:
        await direct.close()
    assert len(backends) == 2
