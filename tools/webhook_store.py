"""Storing verified deliveries' events: the deliveries of the same moment in one transaction.

The webhook door (tools/webhooks.py) hands each verified delivery here and answers only
once its events are durable. Deliveries that arrive while a flush is under way, or in
the same loop iteration, are flushed together (jobs/batching.py): per tenant, one INSERT
of every new event (``ON CONFLICT DO NOTHING`` on the provider's event id, so a
redelivery stores nothing, in the same batch or a later one), their workflow runs made in
that same transaction (jobs/workflows/dispatch.py) and the realtime flows they concern
found, then one arq job for the batch's runs. A flush that fails is tried again one
delivery at a time, so one bad delivery fails only itself.

The integration lookup that precedes the signature check is coalesced the same way: one
autocommit SELECT for the integrations of the deliveries of the moment.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg.rows import dict_row

from connectors.spec import InboundEvent, Webhooks
from jobs.batching import Coalescer
from jobs.sync import realtime
from jobs.workflows.dispatch import StoredEvent, dispatch_in, enqueue_all
from store.direct import Connection, columns, json_text, uuid_array
from store.models import Integration
from tools.context import Services

MAX_BATCH = 100  # deliveries a flush takes at most
# a flush waits this long for more deliveries: at 60 deliveries a second most came alone,
# each its own transaction and arq job of ten runs; 10 ms more on an answer (p50 12 -> 26
# ms) bought 8% more runs a second on 2 cores (485 -> 526, 30 s, side by side)
LINGER_S = 0.01
LOOKUP = (
    "SELECT "  # noqa: S608
    + columns(Integration, "i")
    + ", p.name AS provider_name FROM integrations AS i "
    "JOIN integration_providers AS p ON p.id = i.provider_id "
    "WHERE i.id = ANY(%(ids)s::uuid[])")
STORE = (
    "INSERT INTO webhook_events (id, tenant_id, integration_id, provider_event_id, "
    "event_type, payload, received_at, workflows_dispatched_at) "
    "SELECT v.id, %(tenant)s, v.integration, v.event, v.type, v.payload, %(now)s, %(now)s "
    "FROM jsonb_to_recordset(%(events)s::jsonb) "
    "AS v(id uuid, integration uuid, event text, type text, payload jsonb) "
    "ON CONFLICT (tenant_id, integration_id, provider_event_id) DO NOTHING RETURNING id")
STORE_KEY, LOOKUP_KEY = "webhook_store", "webhook_lookup"


@dataclass(frozen=True)
class Delivery:
    integration: Integration
    webhooks: Webhooks
    events: list[InboundEvent]


async def store_events(services: Services, delivery: Delivery) -> int:
    """Store the delivery's events once each; how many were new. Returns once they and
    their runs are committed and the runs queued."""
    store = services.extras.get(STORE_KEY)
    if store is None:
        store = services.extras[STORE_KEY] = Coalescer(
            lambda batch: _flush(services, batch), max_items=MAX_BATCH, linger_s=LINGER_S)
    stored: int = await store.submit(delivery)
    return stored


async def lookup_integration(services: Services,
                             integration_id: uuid.UUID) -> tuple[Integration, str] | None:
    """The integration (any tenant's: the URL names it) and its provider's name."""
    lookup = services.extras.get(LOOKUP_KEY)
    if lookup is None:
        lookup = services.extras[LOOKUP_KEY] = Coalescer(
            lambda ids: _lookup(services, ids), max_items=MAX_BATCH)
    found: tuple[Integration, str] | None = await lookup.submit(integration_id)
    return found


async def _lookup(services: Services, ids: list[uuid.UUID]
                  ) -> list[tuple[Integration, str] | BaseException | None]:
    """One statement on a direct connection, the rows made into detached integrations:
    an ORM query's compile-cache lookup, loading and identity map cost the door more
    than the database did."""
    async with services.db.direct.connection() as connection:
        cursor = connection.cursor(row_factory=dict_row)
        await cursor.execute(LOOKUP, {"ids": uuid_array(sorted(set(ids)))})
        rows = await cursor.fetchall()
    found = {}
    for row in rows:
        provider = row.pop("provider_name")
        found[row["id"]] = (Integration(**row), provider)
    return [found.get(i) for i in ids]


async def _flush(services: Services, batch: list[Delivery]) -> list[int | BaseException]:
    stored = [0] * len(batch)
    by_tenant: dict[uuid.UUID, list[int]] = defaultdict(list)
    for n, delivery in enumerate(batch):
        by_tenant[delivery.integration.tenant_id].append(n)
    made: list[uuid.UUID] = []
    flows: dict[uuid.UUID, list[uuid.UUID]] = {}
    for tenant_id, members in by_tenant.items():
        made += await _store_tenant(services, tenant_id, [batch[n] for n in members],
                                    stored, members, flows)
    await enqueue_all(services.queue, made)
    for tenant_id, ids in flows.items():
        await realtime.start_flows(services.db, services.queue, tenant_id, ids)
    results: list[int | BaseException] = list(stored)
    return results


async def _store_tenant(services: Services, tenant_id: uuid.UUID, deliveries: list[Delivery],
                        stored: list[int], members: list[int],
                        flows: dict[uuid.UUID, list[uuid.UUID]]) -> list[uuid.UUID]:
    events = [(delivery.integration.id, event) for delivery in deliveries
              for event in delivery.events]
    ids = [uuid.uuid4() for _ in events]
    made: list[uuid.UUID] = []
    # one transaction on a direct connection (store/direct.py): BEGIN, the statements,
    # COMMIT, with no checkout, ping or ORM between; each statement binds the tenant
    async with services.db.direct.connection() as connection, connection.transaction():
        inserted: set[uuid.UUID] = set()
        if events:
            inserted = await _insert(connection, tenant_id, ids, events)
        new: dict[uuid.UUID, list[StoredEvent]] = defaultdict(list)
        taken = iter(zip(ids, events, strict=True))
        for position, delivery in zip(members, deliveries, strict=True):
            for _ in delivery.events:
                event_id, (integration_id, event) = next(taken)
                if event_id in inserted:
                    stored[position] += 1
                    new[integration_id].append(StoredEvent(
                        event_id, event.event_id[:200], event.event_type[:100], event.payload))
        # stored and handed to the workflows in one transaction: no event is left between
        for integration_id, fresh in new.items():
            made += await dispatch_in(connection, tenant_id, integration_id, fresh,
                                      stamped=True)
        # every verified delivery counts, redeliveries too (see jobs/sync/realtime.py)
        found: list[uuid.UUID] = []
        for group in _by_integration(deliveries):
            found += await realtime.realtime_flows(
                connection, group[0].integration, group[0].webhooks,
                [event for delivery in group for event in delivery.events])
    if found:
        flows[tenant_id] = found
    return made


async def _insert(connection: Connection, tenant_id: uuid.UUID, ids: list[uuid.UUID],
                  events: list[tuple[uuid.UUID, InboundEvent]]) -> set[uuid.UUID]:
    """The events new to the tenant (a redelivery, in this batch or an earlier one,
    stores nothing), already marked dispatched: their runs are made in this same
    transaction. One statement, whatever the batch's size."""
    cursor = await connection.execute(STORE, {"tenant": tenant_id, "now": datetime.now(UTC),
                                              "events": json_text([
        {"id": event_id, "integration": integration_id, "event": event.event_id[:200],
         "type": event.event_type[:100], "payload": event.payload}
        for event_id, (integration_id, event) in zip(ids, events, strict=True)])})
    return {row[0] for row in await cursor.fetchall()}


def _by_integration(deliveries: list[Delivery]) -> list[list[Delivery]]:
    groups: dict[uuid.UUID, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.integration.id].append(delivery)
    return list(groups.values())
