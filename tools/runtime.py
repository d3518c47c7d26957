"""Bring the parts up in order and down in reverse: embedded services, database, queue;
and the long-running parts the doors start: a worker, the provider sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
from arq import create_pool
from arq.worker import Worker
from fastapi import FastAPI

from connectors.egress import register_own_sandbox
from jobs.constants import QUEUE_NAME
from jobs.embedding.embedders import embedder_for
from jobs.worker import MAX_JOBS, build_worker, redis_settings
from store.crypto import SecretBox, load_keys
from store.db import Database
from store.embedded import EmbeddedServices
from store.migrate import upgrade_async
from store.redact import redact_every_log
from store.settings import Settings
from tools.catalogue import sync_catalogue
from tools.context import Services

# what the doors need from below to start up, so they import tools only
__all__ = ["announce_own_sandbox", "migrate_to", "redact_every_log", "register_own_sandbox",
           "running", "sandbox_app", "worker_for"]

log = logging.getLogger(__name__)

SANDBOX_FILE = "sandbox.json"


@contextlib.contextmanager
def announce_own_sandbox(data_dir: Path, url: str) -> Iterator[None]:
    """Trust the sandbox this process serves, and let the other commands on the same data
    dir (`connectus sync` in a second terminal) trust it while this process lives."""
    register_own_sandbox(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SANDBOX_FILE
    path.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _trust_announced_sandbox(data_dir: Path) -> None:
    """Only while the process that announced it still runs: after a crash the port may be
    anyone's."""
    try:
        announced = json.loads((data_dir / SANDBOX_FILE).read_text())
        url, pid = str(announced["url"]), int(announced["pid"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return
    if psutil.pid_exists(pid):
        register_own_sandbox(url)


@asynccontextmanager
async def running(settings: Settings, *, migrate: bool = True,
                  queue: bool = True) -> AsyncIterator[Services]:
    """Services ready to use; embedded PostgreSQL/Redis started only for unset URLs."""
    embedded = EmbeddedServices(settings.data_dir, postgres=settings.database_url is None,
                                redis_=queue and settings.redis_url is None)
    database_url, redis_url = await asyncio.to_thread(embedded.start)
    _trust_announced_sandbox(settings.data_dir)
    database_url = settings.database_url or database_url
    redis_url = settings.redis_url or redis_url
    assert database_url is not None
    db = Database(database_url)
    pool = None
    try:
        if migrate:
            await upgrade_async(database_url)
        if queue and redis_url:
            pool = await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME)
        services = Services(settings=settings, db=db,
                            vault=SecretBox(load_keys(settings.secret_keys, settings.data_dir)),
                            queue=pool)
        services.extras["redis_url"] = redis_url
        if migrate:
            await sync_catalogue(services)
        yield services
    finally:
        if pool is not None:
            await pool.aclose()
        await db.dispose()
        await asyncio.to_thread(embedded.stop)


def worker_for(services: Services, *, handle_signals: bool = True,
               max_jobs: int | None = None) -> Worker:
    """An arq worker sharing these services' database, keys and Redis."""
    return build_worker(services.extras["redis_url"],
                        {"db": services.db, "vault": services.vault,
                         "allow_private": services.settings.allow_private_urls,
                         "embedder": embedder_for(services.settings)},
                        handle_signals=handle_signals, max_jobs=max_jobs or MAX_JOBS)


def sandbox_app(seed: int = 7) -> FastAPI:
    """The provider simulators, for `connectus up` and `connectus sandbox`."""
    from connectors.sandbox.app import create_app

    return create_app(seed=seed)


async def migrate_to(services: Services, revision: str = "head") -> None:
    await upgrade_async(services.db.url, revision)
    if revision == "head":
        await sync_catalogue(services)

