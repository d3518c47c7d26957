"""From stored provider events to queued workflow runs, once each.

``dispatch_in`` runs in the webhook door's transaction that stores a delivery's new
events (``dispatch_events`` is the same in a transaction of its own, for replays and the
sweep). It finds the integration's webhook workflows (by index:
tenant, integration, trigger event), makes one run per (workflow, event) that listens for
the event (``ON CONFLICT DO NOTHING`` on the unique pair, so a redelivery, a second
replica or a sweep racing this one adds nothing), puts an event no active workflow
takes on the dead-letter list when the integration has webhook workflows at all, and
marks the events dispatched; then it queues the new runs. A condition that reads only
the event is decided here, so a workflow whose condition does not match makes no run.

A run whose job was lost (its process died between the commit and the enqueue) stays
queued, and so does an event left undispatched: ``sweep`` (an arq cron) finds both and
finishes the work, so a stored event is never lost.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from arq.constants import in_progress_key_prefix
from psycopg.rows import namedtuple_row
from sqlalchemy import and_, or_, select

from jobs.constants import QUEUE_NAME, WORKFLOW_STALE_S
from jobs.workflows.conditions import matches, roots
from jobs.workflows.runner import enqueue, enqueue_many
from store.db import Database
from store.direct import Connection, json_text, uuid_array
from store.models import WebhookEvent, WorkflowAutomation, WorkflowDeadLetter, WorkflowRun
from store.models.base import utcnow

SWEEP_PEEK = 100  # of the queue's oldest jobs, the sweep looks for the first not taken
SWEEP_BATCH = 500
# the webhook door's statements, on a psycopg connection in the caller's transaction (a
# direct one, store/direct.py): each binds the tenant itself; rows go as one JSON array,
# so each text is the same whatever their number, and is prepared once
WORKFLOWS = (
    "SELECT id, name, status, trigger_event, conditions FROM workflow_automations "
    "WHERE tenant_id = %(tenant)s AND integration_id = %(integration)s "
    "AND trigger_type = 'webhook'")
MAKE_RUNS = (
    "INSERT INTO workflow_runs (id, tenant_id, workflow_id, webhook_event_id, status, "
    "trigger, started_at, input, context, steps) "
    "SELECT v.id, %(tenant)s, v.workflow, v.event, 'queued', 'webhook', %(now)s, v.input, "
    "'{}', '[]' FROM jsonb_to_recordset(%(runs)s::jsonb) "
    "AS v(id uuid, workflow uuid, event uuid, input jsonb) "
    "ON CONFLICT (workflow_id, webhook_event_id) DO NOTHING RETURNING id")
DEAD_LETTERS = (
    "INSERT INTO workflow_dead_letters (id, tenant_id, webhook_event_id, integration_id, "
    "event_type, status, reason, runs, created_at) "
    "SELECT v.id, %(tenant)s, v.event, %(integration)s, v.type, 'open', v.reason, '[]', "
    "%(now)s FROM jsonb_to_recordset(%(letters)s::jsonb) "
    "AS v(id uuid, event uuid, type text, reason text) "
    "ON CONFLICT (webhook_event_id) DO NOTHING")
STAMP = (
    "UPDATE webhook_events SET workflows_dispatched_at = %(now)s "
    "WHERE tenant_id = %(tenant)s AND id = ANY(%(ids)s::uuid[])")


@dataclass(frozen=True)
class StoredEvent:
    id: uuid.UUID
    provider_event_id: str
    event_type: str
    payload: Any


def run_input(event: StoredEvent) -> dict[str, Any]:
    return {"type": event.event_type, "event_id": event.provider_event_id,
            "webhook_event_id": str(event.id), "payload": event.payload}


async def dispatch_events(db: Database, queue: ArqRedis | None, tenant_id: uuid.UUID,
                          integration_id: uuid.UUID,
                          events: list[StoredEvent]) -> list[uuid.UUID]:
    """Runs for the events' workflows; returns the ids of the runs made now."""
    if not events:
        return []
    async with db.direct.connection() as connection, connection.transaction():
        made = await dispatch_in(connection, tenant_id, integration_id, events)
    await enqueue_all(queue, made)
    return made


async def enqueue_all(queue: ArqRedis | None, made: list[uuid.UUID]) -> None:
    """Queue runs once the transaction that made them has committed (a worker that took
    one sooner would not find it), many a job."""
    await enqueue_many(queue, made)


async def dispatch_in(connection: Connection, tenant_id: uuid.UUID,
                      integration_id: uuid.UUID, events: list[StoredEvent], *,
                      stamped: bool = False) -> list[uuid.UUID]:
    """The runs (and dead letters) for ``events``, in the caller's transaction on
    ``connection``, which may be the one that stored them (``stamped``: it stored them
    already marked dispatched, an UPDATE fewer); the caller queues the runs it returns
    after committing."""
    if not events:
        return []
    now = utcnow()
    cursor = connection.cursor(row_factory=namedtuple_row)
    await cursor.execute(WORKFLOWS, {"tenant": tenant_id, "integration": integration_id})
    workflows: list[Any] = await cursor.fetchall()
    runs, dead = [], []
    for event in events:
        listening = [w for w in workflows if w.trigger_event == event.event_type]
        active = [w for w in listening if w.status == "active"]
        for workflow in active:
            if roots(workflow.conditions) <= {"event"} and not matches(
                    workflow.conditions, {"event": event.payload}):
                continue  # decided now: no run at all
            runs.append({"id": uuid.uuid4(), "workflow": workflow.id, "event": event.id,
                         "input": run_input(event)})
        if workflows and not active:
            dead.append({"id": uuid.uuid4(), "event": event.id,
                         "type": event.event_type[:100],
                         "reason": _why(event.event_type, list(workflows), listening)})
    made: list[uuid.UUID] = []
    if runs:
        cursor = await connection.execute(MAKE_RUNS, {
            "tenant": tenant_id, "now": now, "runs": json_text(runs)})
        made = [row[0] for row in await cursor.fetchall()]
    if dead:
        await connection.execute(DEAD_LETTERS, {
            "tenant": tenant_id, "integration": integration_id, "now": now,
            "letters": json_text(dead)})
    if not stamped:
        await connection.execute(STAMP, {"tenant": tenant_id, "now": now,
                                         "ids": uuid_array(e.id for e in events)})
    return made


def _why(event_type: str, workflows: list[Any], listening: list[Any]) -> str:
    if listening:
        idle = ", ".join(f"{w.name!r} is {w.status}" for w in listening[:5])
        return f"no active workflow takes {event_type!r} events from this integration: {idle}"
    others = sorted({str(w.trigger_event) for w in workflows})[:10]
    return (f"no workflow listens for {event_type!r} events from this integration (its "
            f"webhook workflows listen for {', '.join(others)})")


async def replay_dead_letter(db: Database, queue: ArqRedis | None, tenant_id: uuid.UUID,
                             letter_id: uuid.UUID) -> WorkflowDeadLetter | None:
    """Offer a dead-lettered event to the workflows again; it stays open (with the new
    reason) if none takes it. None when there is no such letter."""
    async with db.session(tenant_id) as session:
        letter = await session.get(WorkflowDeadLetter, letter_id)
        event = await session.get(WebhookEvent, letter.webhook_event_id) if letter else None
    if letter is None or event is None:
        return None
    made = await dispatch_events(db, queue, tenant_id, letter.integration_id, [StoredEvent(
        event.id, event.provider_event_id, event.event_type, event.payload)])
    async with db.transaction(tenant_id) as session:
        letter = await session.get(WorkflowDeadLetter, letter_id, with_for_update=True)
        if letter is None:
            return None
        if made:
            letter.status, letter.replayed_at = "replayed", utcnow()
            letter.runs = [*letter.runs, *(str(r) for r in made)]
        else:
            workflows = (await session.execute(
                select(WorkflowAutomation.name, WorkflowAutomation.status,
                       WorkflowAutomation.trigger_event)
                .where(WorkflowAutomation.integration_id == letter.integration_id,
                       WorkflowAutomation.trigger_type == "webhook"))).all()
            listening = [w for w in workflows if w.trigger_event == letter.event_type]
            letter.reason = _why(letter.event_type, list(workflows), listening) if workflows \
                else "the integration has no webhook workflows now"
    return letter


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Dispatch events a dead process left undispatched; queue runs nobody works on."""
    db: Database = ctx["db"]
    now = utcnow()
    stale = now - timedelta(seconds=WORKFLOW_STALE_S)
    waiting_since = await _oldest_waiting_job(ctx["redis"], now)
    async with db.transaction(None) as session:
        events = (await session.execute(
            select(WebhookEvent.id, WebhookEvent.tenant_id, WebhookEvent.integration_id,
                   WebhookEvent.provider_event_id, WebhookEvent.event_type,
                   WebhookEvent.payload)
            .where(WebhookEvent.workflows_dispatched_at.is_(None),
                   WebhookEvent.received_at < stale).limit(SWEEP_BATCH))).all()
        orphans = (await session.scalars(
            select(WorkflowRun.id).where(or_(
                # a queued run made after the oldest job still waiting in the queue may be
                # in one of those jobs: under a backlog it is not lost, only late, and a
                # job of its own would claim it a second time over for nothing
                and_(WorkflowRun.status == "queued",
                     WorkflowRun.started_at < min(stale, waiting_since)),
                and_(WorkflowRun.status == "running", WorkflowRun.lease_expires_at < now)))
            .limit(SWEEP_BATCH))).all()
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[StoredEvent]] = defaultdict(list)
    for row in events:
        groups[(row.tenant_id, row.integration_id)].append(
            StoredEvent(row.id, row.provider_event_id, row.event_type, row.payload))
    for (tenant_id, integration_id), stored in groups.items():
        await dispatch_events(db, ctx["redis"], tenant_id, integration_id, stored)
    bucket = int(now.timestamp() // WORKFLOW_STALE_S)
    for run_id in orphans:
        await enqueue(ctx["redis"], run_id, attempt=f"sweep-{bucket}")
    return {"events": len(events), "runs": len(orphans)}


async def _oldest_waiting_job(queue: ArqRedis | None, now: datetime) -> datetime:
    """When the oldest job still waiting in the queue was queued (arq scores its jobs by
    the moment they are due, in ms); ``now`` when none waits. A job a worker has taken
    stays in the queue until it ends, marked in progress: that one is not waiting (its
    worker may have died with it)."""
    if queue is None:
        return now
    oldest = await queue.zrange(QUEUE_NAME, 0, SWEEP_PEEK - 1, withscores=True)
    if not oldest:
        return now
    async with queue.pipeline(transaction=False) as pipe:
        for job_id, _ in oldest:
            pipe.exists(in_progress_key_prefix + _text(job_id))
        taken = await pipe.execute()
    for (_, score), busy in zip(oldest, taken, strict=True):
        if not busy:
            return min(now, datetime.fromtimestamp(float(score) / 1000, UTC))
    return now


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
