"""Each Slack event is answered once, whichever replica it reaches and however often
Slack retries it: the first delivery of an event id claims it in Redis."""

from __future__ import annotations

import logging

from tools.context import Services

KEEP_S = 24 * 3600  # Slack retries for minutes; a day is plenty
log = logging.getLogger(__name__)


async def first_delivery(services: Services, team_id: str, event_id: str) -> bool:
    if services.queue is None:  # no Redis in this process: nothing to agree with
        log.warning("no Redis: Slack retries of event %s cannot be told apart", event_id)
        return True
    claimed = await services.queue.set(f"connectus:slack:event:{team_id}:{event_id}", "1",
                                       nx=True, ex=KEEP_S)
    return bool(claimed)
