"""Realtime flows: a provider's webhook starts a delta run of the flows it concerns.

An event concerns a stream by its provider's declaration (``Webhooks.streams``:
HubSpot ``contact.*`` -> contacts). For each active realtime flow of the integration
on such a stream, coalesced so a burst of events costs one run:

    no open run          queue a delta run (its job a few seconds later, so the rest of
                         the burst and the provider's own search index catch up)
    a run still queued   nothing: it has not read anything yet, so it reads the change
    a run going/paused   it may have read past the change: the flow is made due now, and
                         the scheduler (schedule.py) keeps a realtime flow due until its
                         run ends, then starts exactly one follow-up run

So a hundred events give one run, or one run and one follow-up, and none is lost. Every
verified delivery counts, redeliveries too: a provider redelivers when our answer did
not reach it, which is when the first trigger may not have happened. A realtime flow
also has an hourly scheduled delta (schedule.py), for a delivery that never came.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from arq import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import func, update

from connectors.registry import connector_spec
from connectors.spec import InboundEvent, Webhooks
from jobs.sync.runs import open_run
from jobs.sync.schedule import enqueue_run
from store.db import Database
from store.direct import Connection
from store.errors import ValidationFailed
from store.models import DataFlow, Integration

log = logging.getLogger(__name__)

REALTIME_SETTLE_S = 3.0  # from the first event to its run's start
FLOWS = (
    "SELECT id FROM data_flows WHERE tenant_id = %(tenant)s "
    "AND integration_id = %(integration)s AND status = 'active' "
    "AND sync_frequency = 'realtime' AND direction <> 'outbound' "
    "AND stream = ANY(%(streams)s::text[]) ORDER BY id")


def check_realtime(provider: str, stream: str, direction: str) -> None:
    """A realtime flow must read a stream its provider sends webhooks about, or it would
    only ever run on its hourly safety net. (An outbound flow's changes are ours.)"""
    if direction == "outbound":
        return
    spec = connector_spec(provider)
    webhooks = spec.webhooks if spec is not None else None
    announced = sorted({name for _, name in webhooks.streams}) if webhooks else []
    if stream not in announced:
        which = (f"it announces changes to {', '.join(announced)} only" if announced
                 else "it sends no webhooks about records")
        raise ValidationFailed(
            f"a realtime flow starts on the provider's webhooks, but {provider} sends none "
            f"about {stream!r} ({which}); choose hourly, daily, weekly or a cron schedule",
            field="sync_frequency")


def concerned_streams(webhooks: Webhooks, events: list[InboundEvent]) -> set[str]:
    return {stream for event in events for stream in webhooks.streams_for(event.event_type)}


async def on_webhook(db: Database, queue: ArqRedis | None, integration: Integration,
                     webhooks: Webhooks, events: list[InboundEvent]) -> list[uuid.UUID]:
    """Start (or follow up) the realtime flows these verified events concern; returns the
    runs it queued. Without a queue (or with Redis down) the run is queued in the database
    alone, and the stalled-run sweep hands it to a worker: the delivery is not refused."""
    if not concerned_streams(webhooks, events):
        return []
    async with db.direct.connection() as connection:
        flows = await realtime_flows(connection, integration, webhooks, events)
    return await start_flows(db, queue, integration.tenant_id, flows)


async def realtime_flows(connection: Connection, integration: Integration,
                         webhooks: Webhooks, events: list[InboundEvent]) -> list[uuid.UUID]:
    """The active realtime flows the events concern, on the caller's connection (the
    webhook door's, in the transaction that stores the events); the caller starts them
    with ``start_flows``."""
    streams = concerned_streams(webhooks, events)
    if not streams:
        return []
    cursor = await connection.execute(FLOWS, {
        "tenant": integration.tenant_id, "integration": integration.id,
        "streams": sorted(streams)})
    return [row[0] for row in await cursor.fetchall()]


async def start_flows(db: Database, queue: ArqRedis | None, tenant_id: uuid.UUID,
                      flows: list[uuid.UUID]) -> list[uuid.UUID]:
    """A run (or a follow-up) for each of ``flows``; returns the runs it queued."""
    started = []
    for flow_id in flows:
        run, created = await open_run(db, tenant_id, flow_id, trigger="webhook")
        if created:
            if queue is not None:
                try:
                    await enqueue_run(queue, flow_id, run.id, "webhook",
                                      defer_by=REALTIME_SETTLE_S)
                except RedisError as exc:  # the run is queued in the database regardless
                    log.warning("could not enqueue realtime run %s (%s); the stalled-run "
                                "sweep will hand it to a worker", run.id, exc)
            started.append(run.id)
        elif run.status != "queued":
            await follow_up(db, tenant_id, flow_id)
    return started


async def follow_up(db: Database, tenant_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    """Make the flow due now (never later than it was): one more run once its run ends."""
    now = datetime.now(UTC)
    async with db.transaction(tenant_id) as session:
        await session.execute(
            update(DataFlow).where(DataFlow.id == flow_id, DataFlow.status == "active")
            .values(next_run_at=func.least(func.coalesce(DataFlow.next_run_at, now), now))
            .execution_options(synchronize_session=False))
