"""The sync engine's held connection: each page is its own transaction on one connection,
committed whole or not at all, with a bad value reported as input, not as a crash."""

import psycopg
import pytest

from store.db import Database, held_transaction
from store.errors import SystemFault, TransientError, ValidationFailed
from tests.conftest import _libpq


async def _count(db: Database, connection: object) -> int:
    cursor = await connection.execute("SELECT count(*) FROM scratch")  # type: ignore[attr-defined]
    return int((await cursor.fetchone())[0])


async def test_each_transaction_commits_or_rolls_back_whole(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.held_connection() as connection:
            async with held_transaction(connection):
                await connection.execute("CREATE TABLE scratch (n int NOT NULL)")
                await connection.execute("INSERT INTO scratch VALUES (1)")
            with pytest.raises(ZeroDivisionError):
                async with held_transaction(connection):
                    await connection.execute("INSERT INTO scratch VALUES (2)")
                    raise ZeroDivisionError
            with pytest.raises(ValidationFailed, match="a value does not fit"):
                async with held_transaction(connection):
                    await connection.execute("INSERT INTO scratch VALUES (3)")
                    await connection.execute("INSERT INTO scratch VALUES ('three')")
            assert await _count(db, connection) == 1
        # what was committed is there for everyone else, on other connections
        async with db.held_connection() as other:
            assert await _count(db, other) == 1
            await other.rollback()
    finally:
        await db.dispose()


async def test_a_connection_left_in_a_transaction_is_refused(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.held_connection() as connection:
            await connection.execute("SELECT 1")  # opens a transaction and leaves it open
            with pytest.raises(SystemFault, match="inside a transaction"):
                async with held_transaction(connection):
                    pass
            await connection.rollback()
    finally:
        await db.dispose()


async def test_a_held_connection_the_server_dropped_is_a_transient_error(
        database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.held_connection() as connection:
            cursor = await connection.execute("SELECT pg_backend_pid()")
            backend = (await cursor.fetchone())[0]
            await connection.rollback()
            with psycopg.connect(_libpq(database_url, "postgres"), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
            with pytest.raises(TransientError, match="connection was lost"):
                async with held_transaction(connection):
                    await connection.execute("SELECT 1")
        async with db.held_connection() as fresh:  # the pool replaced it
            cursor = await fresh.execute("SELECT pg_backend_pid()")
            assert (await cursor.fetchone())[0] != backend
            await fresh.rollback()
    finally:
        await db.dispose()
