"""One arq worker for ``connectus bench workflows``, in a process of its own.

``python -m evals.bench.workflow_worker --max-jobs N`` is ``connectus worker`` with the
HubSpot and Slack connectors' client-side rate limits lifted, as the simulator's are
(the bench measures the engine, not the providers' quotas; the budget's Redis round
trip per call is still paid). It prints ``ready`` once its imports and connections are
up, then works until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from dataclasses import replace

import uvloop

import connectors.providers.hubspot as hubspot
import connectors.providers.slack as slack
from connectors.spec import RateLimit
from jobs.workflows.run_writes import writes_for
from tools.context import Settings
from tools.runtime import redact_every_log, running, worker_for

LIFTED = RateLimit(requests=10**9, per_seconds=10, daily=10**12)


def lift_rate_limits() -> None:
    hubspot.SPEC = replace(hubspot.SPEC, rate_limit=LIFTED)
    slack.SPEC = replace(slack.SPEC, rate_limit=LIFTED)


async def work(max_jobs: int) -> None:
    async with running(Settings.from_env(), migrate=False) as services:
        worker = worker_for(services, max_jobs=max_jobs)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.async_run()
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await worker.close()
            writes = writes_for(services.db)  # how well the runs' writes coalesced, per kind
            logging.getLogger("bench").warning("coalesced: %s", ", ".join(
                f"{name} {c.items} in {c.batches}" for name, c in (
                    ("claims", writes.claims), ("saves", writes.saves), ("ends", writes.ends),
                    ("resolves", writes.workflows))))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max-jobs", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    redact_every_log()
    lift_rate_limits()
    uvloop.run(work(args.max_jobs))  # as `connectus worker` runs


if __name__ == "__main__":
    main()
