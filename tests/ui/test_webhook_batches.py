"""Deliveries that arrive together share one transaction (tools/webhook_store.py): each
event is still stored once, redeliveries in the same moment included, each sender hears
what its own delivery stored, and every event gets exactly one run, counted once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from store.models import WebhookEvent
from tests.jobs.workflow_kit import creation, new_tenant
from tools.context import Services
from tools.webhook_store import STORE_KEY

EVENTS = 10


async def test_concurrent_deliveries_and_redeliveries_store_and_run_each_event_once(
        services: Services, api: httpx.AsyncClient, sandbox: Any) -> None:
    tenant = await new_tenant(services, api, sandbox, slug="batched")
    workflow = await tenant.workflow()
    firsts = [creation(str(1001 + n), eventId=80_000 + n, occurredAt=1_704_067_200_000 + n)
              for n in range(EVENTS)]
    # HubSpot redelivers an event it has not heard back about: same event, next attempt
    again = [{**firsts[n], "attemptNumber": 1} for n in (3, 7)]
    answers = await asyncio.gather(*(tenant.deliver(e) for e in [*firsts, *again]))
    assert [a.status_code for a in answers] == [200] * (EVENTS + 2)
    stored = [int(a.headers["X-Connectus-Events-Stored"]) for a in answers]
    duplicate = [int(a.headers["X-Connectus-Events-Duplicate"]) for a in answers]
    assert sum(stored) == EVENTS and sum(duplicate) == 2
    assert all(s + d == 1 for s, d in zip(stored, duplicate, strict=True))
    store = services.extras[STORE_KEY]
    assert store.batches < store.items  # they did share flushes
    async with services.db.session(tenant.caller.tenant_id) as session:
        events = await session.scalar(select(func.count()).select_from(WebhookEvent))
    assert events == EVENTS

    await tenant.work()
    runs = await tenant.runs()
    assert len(runs) == EVENTS and {r.status for r in runs} == {"succeeded"}
    assert await tenant.counts(workflow["id"]) == (EVENTS, EVENTS)
    assert len(await tenant.contacts()) == EVENTS
    assert len(tenant.slack_messages()) == EVENTS
