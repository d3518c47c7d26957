"""A few psycopg connections of a process's own, in autocommit, for its hottest writes.

A write through a session costs four round trips: the pool's pre-ping at checkout, BEGIN,
the statement, COMMIT; on a shared 2-core machine each is a wake-up of PostgreSQL and of
this process. The workflow engine's coalesced claims, saves and ends are each one
statement, a transaction by itself, so here they cost one: the connection is kept, not
checked out of SQLAlchemy's pool, and never pinged (a dead one fails its statement, is
dropped, and the caller retries).

Nothing here passes the tenant guard (store/db.py): every statement binds each
``tenant_id`` itself, from rows its caller loaded. Statements go in ``connection()``,
whose failures read as ``Database.transaction`` reads them (``held_statement``, shared
with the sync engine's held connection): a value a column cannot hold
is the caller's input, a lost connection a reason to try again.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import make_url

from store.errors import TransientError, ValidationFailed

Connection = psycopg.AsyncConnection[Any]


def libpq_url(url: str) -> str:
    """SQLAlchemy's URL (``postgresql+psycopg://``) as libpq reads it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class DirectConnections:
    """Up to ``size`` connections, opened when first wanted and kept while they work."""

    def __init__(self, url: str, size: int) -> None:
        self._url = libpq_url(url)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self._slots:
            connection = self._idle.pop() if self._idle else await self._open()
            try:
                async with held_statement():
                    yield connection
            except TransientError:  # gone for good: the next caller gets a fresh one
                await connection.close()
                raise
            finally:
                if not connection.closed:
                    await self._keep(connection)

    async def _open(self) -> Connection:
        try:
            # planned for each call's own arrays: a generic plan (psycopg prepares a
            # statement by its fifth use) guesses their length, and a guess of a hundred
            # rows can turn a batch's index lookups into a scan of the whole table
            connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, options="-c plan_cache_mode=force_custom_plan")
        except psycopg.OperationalError:
            raise TransientError("the database cannot be reached; retrying") from None
        set_json_loads(json_value, connection)  # a claim reads three jsonb columns a run
        return connection

    async def _keep(self, connection: Connection) -> None:
        """Back to the idle ones if it is as it came; else (a statement cut off mid-way by
        a cancellation, a broken socket) closed, for a fresh one next time."""
        if not connection.closed and connection.info.transaction_status == TransactionStatus.IDLE:
            self._idle.append(connection)
        else:
            await connection.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


def json_text(value: Any) -> str:
    """``value`` as JSON for a statement's one jsonb parameter (rows for
    ``jsonb_to_recordset``, or an object of them by id): made by orjson in one call, where
    an array per column is dumped element by element in Python. A value orjson will not
    take (an integer past 64 bits) goes through json."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, default=str)


def json_value(text: str | bytes) -> Any:
    """A jsonb value as psycopg hands it over, parsed by orjson, or by json where orjson
    refuses it (an integer past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def columns(model: Any, alias: str) -> str:
    """Every column of ``model``'s table, as ``alias.name, ...``, for a statement that
    reads whole rows and makes them into detached models (``model(**row)``): a column
    added to the model is read too. Names, never input."""
    return ", ".join(f"{alias}.{c.name}" for c in model.__table__.columns)


def uuid_array(ids: Iterable[uuid.UUID]) -> str:
    """Ids as the text of a ``uuid[]`` (no element of which needs quoting)."""
    return "{" + ",".join(str(i) for i in ids) + "}"


@asynccontextmanager
async def held_statement() -> AsyncIterator[None]:
    """A statement on a held connection, its failures read as ``Database.transaction``
    reads them: a value a column cannot hold is the caller's input."""
    try:
        yield
    except psycopg.DataError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid value"
        raise ValidationFailed(f"a value does not fit: {reason}") from None
    except psycopg.OperationalError:
        # a session would have found a live connection at its next checkout; a held one
        # is gone for good, so its caller retries (a sync run resumes at its checkpoint)
        raise TransientError("the database connection was lost; retrying") from None
