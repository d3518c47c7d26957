"""Receiving provider webhooks: check the signature, answer set-up checks, store each
event once (deduplicated by the provider's event id).

The URL names the integration (``/integrations/webhooks/{id}/``); there is no API
key, so the provider's signature or shared secret is the only authentication.
The integration is found across tenants on purpose, and everything after that
runs in its tenant. A rejected delivery leaves a warning in the health log:
forged or misconfigured webhooks are worth a person's attention.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert

from connectors.registry import connector_spec
from connectors.spec import WebhookReply, WebhookRequest
from connectors.webhooks import WebhookRejected
from store.errors import NotFound, ValidationFailed
from store.models import HealthLog, Integration, WebhookEvent
from store.queries import decrypt_credentials, find_integration
from tools.context import Services

MAX_BODY = 10 * 1024 * 1024  # the largest payload the providers document (Zapier: 10 MB)


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
    async with services.db.system_session() as session:
        found = await find_integration(session, integration_id)
    if found is None:
        raise NotFound("no such webhook endpoint")
    integration, provider = found
    spec = connector_spec(provider)
    if spec is None or spec.webhooks is None:
        raise NotFound(f"{provider} does not send webhooks")
    credentials = decrypt_credentials(services.secrets, integration)
    secrets = {**integration.settings, **credentials}
    try:
        if spec.webhooks.handshake is not None:
            answer = spec.webhooks.handshake(request, secrets)
            if answer is not None:
                return Received(answer)
        spec.webhooks.verify(request, secrets)
    except WebhookRejected as exc:
        await _log_rejection(services, integration, provider, exc.message)
        raise
    events = spec.webhooks.events(request)
    stored = 0
    async with services.db.transaction(integration.tenant_id) as session:
        for event in events:
            inserted = await session.scalar(
                insert(WebhookEvent).values(
                    id=uuid.uuid4(), tenant_id=integration.tenant_id,
                    integration_id=integration.id, provider_event_id=event.event_id[:200],
                    event_type=event.event_type[:100], payload=event.payload)
                .on_conflict_do_nothing(
                    index_elements=["tenant_id", "integration_id", "provider_event_id"])
                .returning(WebhookEvent.id))
            stored += inserted is not None
    duplicates = len(events) - stored
    reply = spec.webhooks.ack or WebhookReply(body=json.dumps(
        {"ok": True, "stored": stored, "duplicates": duplicates}).encode())
    return Received(reply, stored, duplicates)


async def _log_rejection(services: Services, integration: Integration, provider: str,
                         why: str) -> None:
    async with services.db.transaction(integration.tenant_id) as session:
        session.add(HealthLog(
            tenant_id=integration.tenant_id, integration_id=integration.id,
            severity="warning", category="webhook_rejected",
            message=f"A {provider} webhook was rejected: {why}. If you did not just change "
                    "the webhook secret, someone may be sending forged deliveries.",
            details={"provider": provider}))
