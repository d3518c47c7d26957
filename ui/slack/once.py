"""Each Slack event is answered once, whichever replica it reaches and however often
Slack retries it: the first delivery of an event id claims it in Redis. And one Slack
thread is worked on by one replica at a time: two quick messages (or a message and a
button) in a thread take turns on its agent thread instead of racing on it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from tools.context import Services

KEEP_S = 24 * 3600  # Slack retries for minutes; a day is plenty
TURN_S = 300  # a turn that takes longer than this (a hung model call) is given up
log = logging.getLogger(__name__)


async def first_delivery(services: Services, team_id: str, event_id: str) -> bool:
    if services.queue is None:  # no Redis in this process: nothing to agree with
        log.warning("no Redis: Slack retries of event %s cannot be told apart", event_id)
        return True
    claimed = await services.queue.set(f"connectus:slack:event:{team_id}:{event_id}", "1",
                                       nx=True, ex=KEEP_S)
    return bool(claimed)


@contextlib.asynccontextmanager
async def one_at_a_time(services: Services, thread_id: str) -> AsyncIterator[None]:
    if services.queue is None:
        yield
        return
    async with services.queue.lock(f"connectus:slack:thread:{thread_id}", timeout=TURN_S,
                                   blocking_timeout=TURN_S):
        yield
