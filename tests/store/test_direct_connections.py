"""A process's direct connections: each statement its own transaction, written whole or
not at all; a bad value reported as input; a connection the server dropped reported as a
reason to retry and replaced; never more open than the limit."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from store.db import Database
from store.direct import DirectConnections, json_text, uuid_array
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
            # planned for each call's own arrays, never by a generic plan's guess
            cursor = await connection.execute("SHOW plan_cache_mode")
            assert (await cursor.fetchone() or [None])[0] == "force_custom_plan"
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


async def test_rows_as_one_json_parameter_keep_what_orjson_cannot_take(
        database_url: str) -> None:
    """The hot statements' rows go as one JSON text: an integer past 64 bits (a provider's
    id) still arrives whole, through json, and the ids' array text reads back as uuids."""
    ids = [uuid.uuid4(), uuid.uuid4()]
    rows = [{"id": ids[0], "n": 2 ** 70, "at": datetime(2026, 12, 3, tzinfo=UTC)},
            {"id": ids[1], "n": 7, "at": None}]
    assert json.loads(json_text(rows))[0]["n"] == 2 ** 70
    db = Database(database_url)
    try:
        async with db.direct.connection() as connection:
            cursor = await connection.execute(
                "SELECT v.id, v.n, v.at, v.id = ANY(%(ids)s::uuid[]) FROM jsonb_to_recordset("
                "%(rows)s::jsonb) AS v(id uuid, n numeric, at timestamptz) ORDER BY v.n DESC",
                {"rows": json_text(rows), "ids": uuid_array(ids)})
            got = await cursor.fetchall()
            # and a jsonb read back on a direct connection keeps it too
            cursor = await connection.execute("SELECT %(rows)s::jsonb",
                                              {"rows": json_text(rows)})
            back = (await cursor.fetchone() or [None])[0]
    finally:
        await db.dispose()
    assert [(r[0], int(r[1]), r[3]) for r in got] == [(ids[0], 2 ** 70, True),
                                                      (ids[1], 7, True)]
    assert got[0][2] == datetime(2026, 12, 3, tzinfo=UTC) and got[1][2] is None
    assert back[0]["n"] == 2 ** 70 and back[1] == {"id": str(ids[1]), "n": 7, "at": None}
