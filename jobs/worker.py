"""The arq worker: the sync and workflow jobs and crons, and a heartbeat that /healthz
reads; and the insight jobs' cron.

``connectus worker`` runs one of these against ``REDIS_URL``; run as many as
you like on any machines that share ``DATABASE_URL`` and ``REDIS_URL``.
``connectus up`` runs one in-process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from jobs.constants import HEARTBEAT_KEY, HEARTBEAT_TTL_S, QUEUE_NAME
from jobs.embedding.backfill import CRON_JOBS as EMBEDDING_CRON_JOBS
from jobs.embedding.backfill import JOBS as EMBEDDING_JOBS
from jobs.embedding.prune import CRON_JOBS as PRUNE_CRON_JOBS
from jobs.health.refresh import CRON_JOBS as HEALTH_CRON_JOBS
from jobs.http_client import shared_client
from jobs.insights.jobs import CRON_JOBS as INSIGHT_CRON_JOBS
from jobs.sync.jobs import CRON_JOBS as SYNC_CRON_JOBS
from jobs.sync.jobs import JOBS as SYNC_JOBS
from jobs.sync.upkeep_jobs import CRON_JOBS as UPKEEP_CRON_JOBS
from jobs.sync.upkeep_jobs import JOBS as UPKEEP_JOBS
from jobs.usage_batches import UsageBatches
from jobs.workflows.batch import BatchPool
from jobs.workflows.jobs import CRON_JOBS as WORKFLOW_CRON_JOBS
from jobs.workflows.jobs import JOBS as WORKFLOW_JOBS

# jobs one worker runs at once; they wait on the network and the database far more than
# they compute, so this is about connections held, not cores
MAX_JOBS = 10


class QuietTicks(logging.Filter):
    """Leaves out arq's start and finish lines of our cron ticks (several a minute on every
    worker, nearly all finding nothing); each tick logs what it did itself. A tick that
    fails or is retried is still logged by arq."""

    # arq.worker's formats: '%6.2fs → %s(%s)%s' and '%6.2fs ← %s ● %s'; args[1] is the name
    FORMATS = ("%6.2fs → %s(%s)%s", "%6.2fs ← %s ● %s")

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (record.msg in self.FORMATS and isinstance(args, tuple) and len(args) > 1
                    and args[1] in self.names)


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Lets /healthz tell whether any worker is alive."""
    await ctx["redis"].set(HEARTBEAT_KEY, str(time.time()), ex=HEARTBEAT_TTL_S)


async def _startup(ctx: dict[str, Any]) -> None:
    # shared by the workflow runs' connectors
    ctx.setdefault("http", shared_client())
    if "usage" not in ctx:
        ctx["usage"] = UsageBatches(ctx["db"])
        ctx["usage"].start()
    ctx.setdefault("workflow_batches", BatchPool(ctx))  # runs share connectors, reads
    await heartbeat(ctx)


async def _shutdown(ctx: dict[str, Any]) -> None:
    batches = ctx.pop("workflow_batches", None)
    if batches is not None:
        await batches.close()
    usage = ctx.pop("usage", None)
    if usage is not None:
        await usage.close()
    http = ctx.pop("http", None)
    if http is not None:
        await http.aclose()


def _quiet(names: set[str]) -> None:
    logger = logging.getLogger("arq.worker")
    for found in logger.filters:
        if isinstance(found, QuietTicks):
            found.names |= names
            return
    logger.addFilter(QuietTicks(names))


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def build_worker(redis_url: str, ctx: dict[str, Any], *, handle_signals: bool = True,
                 burst: bool = False, max_jobs: int = MAX_JOBS) -> Worker:
    """``ctx`` carries what jobs need: ``db`` (store.db.Database), ``vault`` (SecretBox),
    ``allow_private`` (the operator's CONNECTUS_ALLOW_PRIVATE_URLS), ``embedder``
    (jobs.embedding.embedders; made from the environment when missing)."""
    # copies: a CronJob remembers its next run, and a second worker in this process (a
    # restart, a test) must start from scratch, run_at_startup included
    cron_jobs = [replace(job, next_run=None) for job in (
        cron(heartbeat, second={0, 30}, run_at_startup=False, unique=False), *SYNC_CRON_JOBS,
        *UPKEEP_CRON_JOBS, *WORKFLOW_CRON_JOBS, *HEALTH_CRON_JOBS,
        *INSIGHT_CRON_JOBS,
        *EMBEDDING_CRON_JOBS, *PRUNE_CRON_JOBS)]
    _quiet({job.name for job in cron_jobs})
    return Worker(
        functions=[*SYNC_JOBS, *UPKEEP_JOBS, *WORKFLOW_JOBS, *EMBEDDING_JOBS],
        cron_jobs=cron_jobs,
        redis_settings=redis_settings(redis_url),
        queue_name=QUEUE_NAME,
        on_startup=_startup,
        on_shutdown=_shutdown,
        ctx=ctx,
        handle_signals=handle_signals,
        burst=burst,
        poll_delay=0.2,
        max_jobs=max_jobs,
    )
