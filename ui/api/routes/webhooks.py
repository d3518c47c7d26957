"""/integrations/webhooks/{id}/ : where providers deliver. Authenticated by signature."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from tools.webhooks import receive_webhook
from ui.api.deps import ServicesDep
from ui.api.errors import ErrorBody, errors

router = APIRouter(prefix="/integrations/webhooks", tags=["webhooks"])
REJECTED = {**errors(400, 404, 413, 422),
            401: {"model": ErrorBody, "description": "the signature or secret does not match"},
            429: {"model": ErrorBody,
                  "description": "too many rejected deliveries to this endpoint; see Retry-After"}}


async def _receive(services: ServicesDep, integration_id: uuid.UUID,
                   request: Request) -> Response:
    received = await receive_webhook(
        services, integration_id, method=request.method, url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body())
    return Response(received.reply.body, status_code=received.reply.status,
                    media_type=received.reply.content_type,
                    headers={"X-Connectus-Events-Stored": str(received.stored),
                             "X-Connectus-Events-Duplicate": str(received.duplicates)})


@router.post("/{integration_id}/", responses=REJECTED)
async def deliver(services: ServicesDep, integration_id: uuid.UUID,
                  request: Request) -> Response:
    """A provider's delivery: signature checked, events stored once."""
    return await _receive(services, integration_id, request)


@router.get("/{integration_id}/", responses=REJECTED)
async def handshake(services: ServicesDep, integration_id: uuid.UUID,
                    request: Request) -> Response:
    """Set-up checks some providers make with GET (Meta's hub.challenge, Mailchimp's)."""
    return await _receive(services, integration_id, request)
