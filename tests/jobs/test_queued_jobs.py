"""The tests' burst worker (tests/queued_jobs.py) runs the startup ticks once and no timed
tick, even when its burst spans one: the runs and messages tests count are their own."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from arq.worker import Worker

from jobs.constants import QUEUE_NAME
from jobs.worker import build_worker
from tests import queued_jobs
from tests.queued_jobs import run_queued_jobs
from tools.context import Services

TICK_S = 10  # the sweeps, the schedulers and the embedding backfill tick every 10 s


def count_ticks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each tick ran in the burst workers built from now on (arq keeps no
    result of a cron job)."""
    ran: Counter[str] = Counter()

    def counting(*args: Any, **kwargs: Any) -> Worker:
        worker = build_worker(*args, **kwargs)
        for job in worker.cron_jobs:  # this worker's own copies
            def counted(run: Any, name: str) -> Any:
                async def tick(ctx: dict[str, Any]) -> Any:
                    ran[name] += 1
                    return await run(ctx)
                return tick
            job.coroutine = counted(job.coroutine, job.name)
        return worker

    monkeypatch.setattr(queued_jobs, "build_worker", counting)
    return ran


async def test_a_burst_across_a_tick_runs_only_the_startup_ticks_once(
        services: Services, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = count_ticks(monkeypatch)
    startup = {job.name for job in build_worker(redis_url, {}, handle_signals=False).cron_jobs
               if job.run_at_startup}
    assert {"cron:resume_stalled_runs", "workflow_sweep"} <= startup
    # a job due just after the next ten-second mark keeps the burst going across it
    after_tick = (time.time() // TICK_S + 1) * TICK_S + 0.3
    await services.queue.enqueue_job("cron:heartbeat", _queue_name=QUEUE_NAME,
                                     _defer_until=datetime.fromtimestamp(after_tick, UTC))

    await run_queued_jobs(services, redis_url)

    assert time.time() > after_tick
    assert ran == Counter({"cron:heartbeat": 1, **{name: 1 for name in startup}})
