"""The arq worker: the sync and workflow jobs and crons, and a heartbeat that /healthz
reads; the insight jobs join it with their own issue.

``connectus worker`` runs one of these against ``REDIS_URL``; run as many as
you like on any machines that share ``DATABASE_URL`` and ``REDIS_URL``.
``connectus up`` runs one in-process.
"""

from __future__ import annotations

import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from jobs.constants import HEARTBEAT_KEY, HEARTBEAT_TTL_S, QUEUE_NAME
from jobs.sync.jobs import CRON_JOBS as SYNC_CRON_JOBS
from jobs.sync.jobs import JOBS as SYNC_JOBS
from jobs.workflows.jobs import CRON_JOBS as WORKFLOW_CRON_JOBS
from jobs.workflows.jobs import JOBS as WORKFLOW_JOBS


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Lets /healthz tell whether any worker is alive."""
    await ctx["redis"].set(HEARTBEAT_KEY, str(time.time()), ex=HEARTBEAT_TTL_S)


async def _startup(ctx: dict[str, Any]) -> None:
    await heartbeat(ctx)


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def build_worker(redis_url: str, ctx: dict[str, Any], *, handle_signals: bool = True,
                 burst: bool = False) -> Worker:
    """``ctx`` carries what jobs need: ``db`` (store.db.Database), ``vault`` (SecretBox),
    ``allow_private`` (the operator's CONNECTUS_ALLOW_PRIVATE_URLS)."""
    return Worker(
        functions=[*SYNC_JOBS, *WORKFLOW_JOBS],
        cron_jobs=[cron(heartbeat, second={0, 30}, run_at_startup=False, unique=False),
                   *SYNC_CRON_JOBS, *WORKFLOW_CRON_JOBS],
        redis_settings=redis_settings(redis_url),
        queue_name=QUEUE_NAME,
        on_startup=_startup,
        ctx=ctx,
        handle_signals=handle_signals,
        burst=burst,
        poll_delay=0.2,
        max_jobs=10,
    )
