"""Receiving provider webhooks: check the signature, answer set-up checks, store each
event once (deduplicated by the provider's event id), start the realtime data flows
the events concern (jobs/sync/realtime.py), and hand the new events to the workflows
that listen for them (jobs/workflows/dispatch.py); the deliveries of the same moment
share one transaction and one queued job (tools/webhook_store.py).

The URL names the integration (``/integrations/webhooks/{id}/``); there is no API
key, so the provider's signature or shared secret is the only authentication.
The integration is found across tenants on purpose, and everything after that
runs in its tenant. Nothing reads the body before the provider's check has passed,
except a documented handshake that needs to (see connectors/webhooks.py).

A rejected delivery is worth a person's attention (forged, or a changed secret), but
the endpoint is open to the internet: rejections within one window collapse into a
single health-log row with a count, and beyond ``MAX_REJECTIONS`` a window's further
rejections are answered 429 without touching the database. Authentic deliveries are
never throttled, so a flood of forgeries cannot keep a provider's real events out.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text

from connectors.registry import connector_spec
from connectors.spec import WebhookReply, WebhookRequest
from connectors.webhooks import WebhookRejected
from jobs.constants import WEBHOOK_REJECTIONS_KEY
from store.errors import NotFound, TransientError, ValidationFailed
from store.models import HealthLog, Integration
from store.queries import decrypt_credentials
from tools.context import Services
from tools.webhook_store import Delivery, lookup_integration, store_events

MAX_BODY = 10 * 1024 * 1024  # the largest payload the providers document (Zapier: 10 MB)
REJECTION_WINDOW_S = 600
MAX_REJECTIONS = 100  # per integration per window; more is a flood, not a misconfiguration
CATEGORY = "webhook_rejected"


class WebhooksThrottled(TransientError):
    """Too many rejected deliveries for one integration in this window."""

    code = "webhooks_throttled"
    status = 429



@dataclass
class Received:
    reply: WebhookReply
    stored: int = 0
    duplicates: int = 0


async def receive_webhook(services: Services, integration_id: uuid.UUID, *, method: str,
                          url: str, headers: dict[str, str], body: bytes) -> Received:
    """``headers`` with lower-cased names; ``url`` exactly as requested (signatures cover it)."""
    request = WebhookRequest(method, url, headers, body)
    if len(request.body) > MAX_BODY:
        raise ValidationFailed(f"webhook body is larger than {MAX_BODY} bytes")
    found = await lookup_integration(services, integration_id)
    if found is None:
        raise NotFound("no such webhook endpoint")
    integration, provider = found
    spec = connector_spec(provider)
    if spec is None or spec.webhooks is None:
        raise NotFound(f"{provider} does not send webhooks")
    credentials = decrypt_credentials(services.vault, integration)
    keys = {**integration.settings, **credentials}
    try:
        if spec.webhooks.handshake is not None:
            answer = spec.webhooks.handshake(request, keys)
            if answer is not None:
                return Received(answer)
        spec.webhooks.verify(request, keys)
    except WebhookRejected as exc:
        await _rejected(services, integration, provider, exc.message)
        raise
    events = spec.webhooks.events(request)
    # durable (and its runs queued) before the provider hears 2xx
    stored = await store_events(services, Delivery(integration, spec.webhooks, events))
    duplicates = len(events) - stored
    reply = spec.webhooks.ack or WebhookReply(body=json.dumps(
        {"ok": True, "stored": stored, "duplicates": duplicates}).encode())
    return Received(reply, stored, duplicates)


async def _rejected(services: Services, integration: Integration, provider: str,
                    why: str) -> None:
    """Count the rejection in Redis, shared by every replica; past the limit, refuse with
    a 429 before any write. Otherwise fold it into this window's health-log row."""
    now = time.time()
    window = int(now // REJECTION_WINDOW_S)
    if services.queue is not None:
        key = WEBHOOK_REJECTIONS_KEY.format(integration=integration.id, window=window)
        count = int(await services.queue.incr(key))
        if count == 1:
            await services.queue.expire(key, REJECTION_WINDOW_S * 2)
        if count > MAX_REJECTIONS:
            retry = max(1, int((window + 1) * REJECTION_WINDOW_S - now) + 1)
            raise WebhooksThrottled(
                f"more than {MAX_REJECTIONS} rejected {provider} deliveries to this endpoint "
                f"in {REJECTION_WINDOW_S // 60} minutes; try again in {retry}s",
                retry_after=retry)
    await _log_rejection(services, integration, provider, why, window)


async def _log_rejection(services: Services, integration: Integration, provider: str,
                         why: str, window: int) -> None:
    started = datetime.fromtimestamp(window * REJECTION_WINDOW_S, UTC)
    async with services.db.transaction(integration.tenant_id) as session:
        # one writer per integration at a time, so concurrent rejections of a new window
        # find each other's row instead of each inserting one
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                              {"key": f"{CATEGORY}:{integration.id}"})
        row = await session.scalar(
            select(HealthLog).where(
                HealthLog.integration_id == integration.id, HealthLog.category == CATEGORY,
                HealthLog.created_at >= started)
            .order_by(HealthLog.created_at.desc()).limit(1).with_for_update())
        count = (int(row.details.get("count", 1)) if row is not None else 0) + 1
        times = "once" if count == 1 else f"{count} times"
        message = (f"A {provider} webhook was rejected {times} since {started:%H:%M} UTC "
                   f"(latest: {why}). If you did not just change the webhook secret, someone "
                   "may be sending forged deliveries.")
        if count == MAX_REJECTIONS:
            message += (f" Further rejections in this {REJECTION_WINDOW_S // 60}-minute window "
                        "are answered 429 and not counted.")
        details = {"provider": provider, "count": count, "latest": why,
                   "window_started_at": started.isoformat(),
                   "window_s": REJECTION_WINDOW_S}
        if row is None:
            session.add(HealthLog(
                tenant_id=integration.tenant_id, integration_id=integration.id,
                severity="warning", category=CATEGORY, message=message, details=details))
        else:
            row.message, row.details = message, {**row.details, **details}
