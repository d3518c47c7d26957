"""Bring the parts up in order and down in reverse: embedded services, database, queue;
and the long-running parts the doors start: a worker, the provider sandbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq import create_pool
from arq.worker import Worker
from fastapi import FastAPI

from connectors.egress import register_own_sandbox
from jobs.constants import QUEUE_NAME
from jobs.worker import build_worker, redis_settings
from store.crypto import SecretBox, load_keys
from store.db import Database
from store.embedded import EmbeddedServices
from store.migrate import upgrade_async
from store.redact import redact_every_log
from store.settings import Settings
from tools.catalogue import sync_catalogue
from tools.context import Services

# what the doors need from below to start up, so they import tools only
__all__ = ["migrate_to", "redact_every_log", "register_own_sandbox", "running", "sandbox_app",
           "worker_for"]

log = logging.getLogger(__name__)


@asynccontextmanager
async def running(settings: Settings, *, migrate: bool = True,
                  queue: bool = True) -> AsyncIterator[Services]:
    """Services ready to use; embedded PostgreSQL/Redis started only for unset URLs."""
    embedded = EmbeddedServices(settings.data_dir, postgres=settings.database_url is None,
                                redis_=queue and settings.redis_url is None)
    database_url, redis_url = await asyncio.to_thread(embedded.start)
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


def worker_for(services: Services, *, handle_signals: bool = True) -> Worker:
    """An arq worker sharing these services' database, keys and Redis."""
    return build_worker(services.extras["redis_url"],
                        {"db": services.db, "vault": services.vault,
                         "allow_private": services.settings.allow_private_urls},
                        handle_signals=handle_signals)


def sandbox_app(seed: int = 7) -> FastAPI:
    """The provider simulators, for `connectus up` and `connectus sandbox`."""
    from connectors.sandbox.app import create_app

    return create_app(seed=seed)


async def migrate_to(services: Services, revision: str = "head") -> None:
    await upgrade_async(services.db.url, revision)
    if revision == "head":
        await sync_catalogue(services)

