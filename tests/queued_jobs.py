"""Running what is queued, as `connectus worker` would, until the queue is empty.

The burst worker runs the worker's startup ticks (the sync and workflow sweeps and
schedulers, the health refresh) once, as a worker does when it starts, and none of its
timed ticks. A burst that happened to span a tick would otherwise run it too: a
five-minute upkeep check, a second schedule tick or an insight pass of its own, which a
test counting runs or messages would count. A test of a timed tick calls its job itself,
with its own clock.
"""

from __future__ import annotations

from typing import Any

from arq import create_pool

from jobs.constants import QUEUE_NAME
from jobs.worker import build_worker, redis_settings
from tools.context import Services


async def run_queued_jobs(services: Services, redis_url: str, **ctx: Any) -> None:
    """Every queued job, and any it queues or defers, to the end; ``ctx`` adds to the
    jobs' context (``db`` and ``vault`` are the services')."""
    worker = build_worker(redis_url, {"db": services.db, "vault": services.vault, **ctx},
                          handle_signals=False, burst=True)
    startup = [job.name for job in worker.cron_jobs if job.run_at_startup]
    worker.cron_jobs = []  # each stays a registered function, so the ticks queued below run
    queue = await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME)
    try:
        for name in startup:
            await queue.enqueue_job(name)
    finally:
        await queue.aclose()
    try:
        await worker.async_run()
    finally:
        await worker.close()
