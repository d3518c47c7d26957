"""Engine, sessions and the tenant guard.

A session is opened *for a tenant* (``db.session(tenant_id)``) or, for the few
jobs that cross tenants on purpose (API-key lookup, key rotation, seeding), as
a *system* session (``db.system_session()``). In a tenant session every query
on a tenant-scoped table is filtered by ``tenant_id`` automatically, and a new
row gets the session's tenant; a row of another tenant cannot be written. A
session that is neither refuses tenant-scoped queries outright, so forgetting
the scope is a loud bug instead of a data leak. INSERT statements (batched upserts)
are held to the same rule: every tenant_id they carry must be the session's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from store.direct import DirectConnections
from store.errors import PermissionDenied, SystemFault, ValidationFailed
from store.models import TenantScoped


def async_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and use psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


POOL_SIZE = 10
MAX_CONNECTIONS = 15  # per process, as SQLAlchemy's default (5 kept + 10 more)
DIRECT_CONNECTIONS = 4  # per process, beside the pool, opened only where wanted


class Database:
    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        # POOL_SIZE kept open: a webhook provider keeps up to 10 deliveries in flight
        # (HubSpot's default), and a connection past the kept ones is opened for one
        # checkout and closed after it, a new PostgreSQL backend each time
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_pre_ping=True, pool_size=POOL_SIZE,
            max_overflow=MAX_CONNECTIONS - POOL_SIZE)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reads = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False)
        # the hottest one-statement writes (the workflow engine's): one round trip each
        self.direct = DirectConnections(self.url, DIRECT_CONNECTIONS)

    def session(self, tenant_id: uuid.UUID) -> AsyncSession:
        session = self._sessions()
        session.info["tenant_id"] = tenant_id
        return session

    def system_session(self) -> AsyncSession:
        session = self._sessions()
        session.info["system"] = True
        return session

    def system_read(self) -> AsyncSession:
        """A system session for one read on a hot path (the webhook door's integration
        lookup): in autocommit, so no BEGIN and ROLLBACK round trips around it. A read of
        several statements that must agree belongs in ``system_session``."""
        session = self._reads()
        session.info["system"] = True
        return session

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | None) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        session = self.session(tenant_id) if tenant_id else self.system_session()
        try:
            async with session, session.begin():
                yield session
        except DataError as exc:  # a value the column cannot hold: the caller's input
            reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
            raise ValidationFailed(f"a value does not fit: {reason}") from None

    @asynccontextmanager
    async def held_connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One pooled connection as psycopg's own, in autocommit, held for many one-statement
        transactions in a row (the sync engine's pages): no session, no BEGIN and COMMIT, no
        checkout and pre-ping per statement. Nothing here passes the tenant guard, so every
        statement on it binds each tenant_id itself, from a row its caller loaded in the
        tenant's own session. Run its statements inside ``held_statement`` (store/direct.py)."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
            await driver.set_autocommit(True)
            try:
                yield driver
            finally:  # back in the pool as it came: transactions for the next user
                try:
                    await driver.set_autocommit(False)
                except psycopg.Error:  # closed, or left mid-statement: not fit to reuse
                    await connection.invalidate()

    async def dispose(self) -> None:
        await self.direct.close()
        await self.engine.dispose()


def session_tenant(session: AsyncSession | Session) -> uuid.UUID:
    """The tenant a session is opened for, for the few statements that run on its
    connection without the ORM (and so without the guard): they bind every tenant_id
    from here, so they too can only touch the session's tenant."""
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None or session.info.get("system"):
        raise SystemFault("a tenant-scoped statement ran in a session without a tenant")
    return uuid.UUID(str(tenant_id))


def _touches_tenant_rows(state: ORMExecuteState) -> bool:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TenantScoped):
            return True
    return False


def _inserted_tenants(state: ORMExecuteState) -> Iterator[Any]:
    """Every tenant_id an INSERT would write: in ``.values(...)`` (one row or many) and in
    executemany parameters. Read from the statement's own parts, not by compiling it, since
    the sync engine's batched upserts run this on every page."""
    statement: Any = state.statement
    rows: list[Mapping[Any, Any]] = []
    if getattr(statement, "_values", None):
        rows.append(statement._values)
    for group in getattr(statement, "_multi_values", ()) or ():
        rows.extend(group)
    params = state.parameters
    if isinstance(params, Mapping):
        rows.append(params)
    elif params:
        rows.extend(params)
    for values in rows:
        for key, value in values.items():
            if getattr(key, "key", key) == "tenant_id":
                yield getattr(value, "value", value)


def _check_insert(state: ORMExecuteState, tenant_id: uuid.UUID | None) -> None:
    if not _touches_tenant_rows(state):
        return
    if tenant_id is None:
        raise SystemFault("a tenant-scoped row was written in a session without a tenant")
    if any(value != tenant_id for value in _inserted_tenants(state)):
        raise PermissionDenied("that row belongs to another tenant")


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    info = state.session.info
    if info.get("system"):
        return
    if state.is_insert:
        _check_insert(state, info.get("tenant_id"))
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tenant_id = info.get("tenant_id")
    if tenant_id is None:
        if _touches_tenant_rows(state):
            raise SystemFault("a tenant-scoped query ran in a session without a tenant")
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id,
                             include_aliases=True))


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("system"):
        return
    tenant_id = session.info.get("tenant_id")
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise SystemFault("a tenant-scoped row was written in a session without a tenant")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise PermissionDenied("that row belongs to another tenant")
