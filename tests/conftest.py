"""Real PostgreSQL (pgvector) and Redis for the whole test session.

With DATABASE_URL / REDIS_URL set the tests use those servers; otherwise the
embedded ones start in a temporary data dir. Each test that asks for
``database_url`` gets a fresh database cloned from a migrated template, so
tests never see each other's rows; ``redis_url`` is flushed per test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from arq import create_pool
from cryptography.fernet import Fernet
from hypothesis import settings as hypothesis_settings
from redis import Redis

from connectors.egress import forget_own_sandbox, register_own_sandbox
from connectors.sandbox.server import SandboxServer
from jobs.constants import QUEUE_NAME
from jobs.worker import redis_settings
from store.accounts import Caller, create_tenant, create_user, issue_api_key
from store.crypto import SecretBox
from store.db import Database
from store.embedded import EmbeddedPostgres, EmbeddedRedis
from store.migrate import upgrade
from store.models import Role, User
from store.settings import Settings
from tools.context import Services

# Property tests judge behaviour, never speed: no deadline (a first call that loads a
# library's data, such as phonenumbers' region tables, is slow on a busy machine). In CI
# the examples are derived from each test, so a run there is reproducible.
hypothesis_settings.register_profile("connectus", deadline=None,
                                     derandomize=bool(os.environ.get("CI")))
hypothesis_settings.load_profile("connectus")

# one template per run: two runs against one DATABASE_URL must not drop each other's
TEMPLATE = f"cx_test_template_{os.getpid()}"


def pytest_configure(config: pytest.Config) -> None:
    """Each run gets a temporary root of its own. pytest's shared numbered dirs keep only
    the last three, so a run that starts while another is going deletes the other's
    PostgreSQL from under it; a private root is never touched by another run."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="connectus-tests-")
        config._connectus_basetemp = config.option.basetemp  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    own = getattr(config, "_connectus_basetemp", None)
    if own:
        shutil.rmtree(own, ignore_errors=True)


def _libpq(url: str, dbname: str) -> str:
    """A plain libpq URL for the same server, pointed at another database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql", database=dbname)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    url = pg.start()
    _without_durability(url)
    yield url
    pg.stop()


def _without_durability(url: str) -> None:
    """The session's own throwaway server need not survive a power cut: every test clones
    and drops a database, and with fsync on each of those waits on the disk (a checkpoint
    per FILE_COPY clone and drop), which is most of a test's setup on a shared machine.
    Durability itself is tested on servers of their own (tests/store/test_embedded.py)."""
    with psycopg.connect(_libpq(url, "postgres"), autocommit=True) as conn:
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    with psycopg.connect(_libpq(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = _libpq(server_url, TEMPLATE)
    upgrade(url)
    yield url
    _drop_database(server_url, TEMPLATE)


def _create_database(server_url: str, template: str) -> tuple[str, str]:
    name = f"cx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url, "postgres"), autocommit=True) as conn:
        # WAL_LOG copies the small template through the WAL; FILE_COPY forces a checkpoint
        # of the whole server for each clone and again for its drop
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY WAL_LOG")
    return name, _libpq(server_url, name)


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_libpq(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database_url(server_url: str, template_url: str) -> Iterator[str]:
    """A migrated database of this test's own."""
    name, url = _create_database(server_url, TEMPLATE)
    yield url
    _drop_database(server_url, name)


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A database with nothing in it, not even the schema."""
    name, url = _create_database(server_url, "template0")
    yield url
    _drop_database(server_url, name)


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    Redis.from_url(redis_server_url).flushdb()
    return redis_server_url


@pytest.fixture
def secret_keys() -> list[str]:
    return [Fernet.generate_key().decode()]


@pytest.fixture
async def services(database_url: str, redis_url: str, secret_keys: list[str],
                   tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(database_url=database_url, redis_url=redis_url, data_dir=tmp_path,
                        secret_keys=tuple(secret_keys))
    db = Database(database_url)
    queue = await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME)
    yield Services(settings=settings, db=db, vault=SecretBox(secret_keys), queue=queue)
    await queue.aclose()
    await db.dispose()


async def make_tenant(services: Services, slug: str,
                      role: Role = Role.owner) -> tuple[Caller, str]:
    """A tenant with one user of ``role``; returns the caller and an API key for them."""
    async with services.db.transaction(None) as session:
        tenant = await create_tenant(session, slug.title(), slug)
        user = await create_user(session, tenant.id, f"{role.value}@{slug}.example", role)
        key = await issue_api_key(session, user)
    return Caller(tenant_id=tenant.id, user_id=user.id, role=role, email=user.email), key


async def second_key(services: Services, caller: Caller) -> str:
    """Another API key of the same user: rate limits count per key, not per person."""
    async with services.db.transaction(caller.tenant_id) as session:
        user = await session.get(User, caller.user_id)
        assert user is not None
        return await issue_api_key(session, user, "second")


@pytest.fixture
async def tenant(services: Services) -> tuple[Caller, str]:
    return await make_tenant(services, "acme")


@pytest.fixture
async def api(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    from ui.api.app import create_app

    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://connectus.test") as client:
        yield client


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """Every provider simulator, on one loopback port for the whole session; registered as
    this process's own sandbox, the one loopback URL integrations may point at."""
    with SandboxServer() as server:
        register_own_sandbox(server.url)
        try:
            yield server
        finally:
            forget_own_sandbox(server.url)


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The running sandbox with every simulator reset: default record counts, no faults,
    writes or tokens."""
    for box in sandbox_server.sandboxes.values():
        box.counts_override = {}
        box.reset()
    yield sandbox_server
