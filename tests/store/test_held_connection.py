"""The sync engine's held connection: one pooled connection in autocommit, where each
statement is its own transaction, written whole or not at all, a bad value reported as
input and a dropped connection as a reason to retry; back in the pool it is as it was."""

import psycopg
import pytest
from sqlalchemy import text

from store.db import Database
from store.direct import held_statement
from store.errors import TransientError, ValidationFailed
from tests.conftest import _libpq


async def _count(connection: psycopg.AsyncConnection) -> int:  # type: ignore[type-arg]
    cursor = await connection.execute("SELECT count(*) FROM scratch")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_each_statement_commits_whole_or_not_at_all(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.held_connection() as connection:
            await connection.execute("CREATE TABLE scratch (n int NOT NULL)")
            async with held_statement():
                await connection.execute("INSERT INTO scratch VALUES (1)")
            with pytest.raises(ValidationFailed, match="a value does not fit"):
                async with held_statement():  # the good row of the two is not kept either
                    await connection.execute("INSERT INTO scratch VALUES (2), ('three')")
            held = connection
        assert held.autocommit is False  # back in the pool with transactions, as it came
        async with db.transaction(None) as session:  # committed for everyone else
            assert await session.scalar(text("SELECT count(*) FROM scratch")) == 1
        with pytest.raises(ZeroDivisionError):  # and the pool's transactions still roll back
            async with db.transaction(None) as session:
                await session.execute(text("INSERT INTO scratch VALUES (4)"))
                raise ZeroDivisionError
        async with db.held_connection() as connection:
            assert await _count(connection) == 1
    finally:
        await db.dispose()


async def test_a_held_connection_the_server_dropped_is_a_transient_error(
        database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.held_connection() as connection:
            cursor = await connection.execute("SELECT pg_backend_pid()")
            backend = (await cursor.fetchone() or [None])[0]
            with psycopg.connect(_libpq(database_url, "postgres"), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            with pytest.raises(TransientError, match="connection was lost"):
                async with held_statement():
                    await connection.execute("SELECT 1")
        async with db.held_connection() as fresh:  # the pool replaced it
            cursor = await fresh.execute("SELECT pg_backend_pid()")
            assert (await cursor.fetchone() or [None])[0] != backend
    finally:
        await db.dispose()
