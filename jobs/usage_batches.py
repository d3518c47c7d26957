"""Provider-call counts of many short operations, flushed together once a second.

A workflow run calls two or three providers a few times each and lasts tens of
milliseconds. With a ``UsageRecorder`` of its own, every run ended with one upsert of
its integrations' usage row for the hour and one update of their ``api_calls_today``:
the same few rows for every run of a busy workflow, so concurrent runs waited on each
other's row locks (and could deadlock with a bulk delete). Here the runs of one worker
share one recorder per integration, and a background task flushes them all every
``FLUSH_EVERY_S`` (and at shutdown): one write per integration per second, whatever
the number of runs. A worker killed outright loses at most that last second of counts;
the provider's budget itself is enforced in Redis before each call, not from these.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from jobs.recording import UsageRecorder
from store.db import Database

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 1.0


class UsageBatches:
    def __init__(self, db: Database, *, every_s: float = FLUSH_EVERY_S) -> None:
        self.db, self.every_s = db, every_s
        self._recorders: dict[tuple[uuid.UUID, uuid.UUID], UsageRecorder] = {}
        self._task: asyncio.Task[None] | None = None

    def recorder(self, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> UsageRecorder:
        key = (tenant_id, integration_id)
        if key not in self._recorders:
            # flush_every: the batch flushes on time, not on a count
            self._recorders[key] = UsageRecorder(self.db, tenant_id, integration_id,
                                                 flush_every=10**9)
        return self._recorders[key]

    def start(self) -> None:
        self._task = asyncio.create_task(self._flushing())

    async def flush(self) -> None:
        # each recorder hands its counts over before it awaits, so a call counted while
        # this runs waits for the next flush instead of being lost
        for recorder in list(self._recorders.values()):
            try:
                await recorder.flush()
            except Exception:  # counts only: logged, and the next second tries the rest
                log.exception("could not write provider usage for integration %s",
                              recorder.integration_id)

    async def _flushing(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await self.flush()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
