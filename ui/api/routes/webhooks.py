"""/integrations/webhooks/{id}/ : where providers deliver. Authenticated by signature."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from connectors.spec import WebhookRequest
from tools.webhooks import receive_webhook
from ui.api.deps import ServicesDep

router = APIRouter(prefix="/integrations/webhooks", tags=["webhooks"])


@router.api_route("/{integration_id}/", methods=["GET", "POST", "PUT"],
                  responses={401: {"description": "signature or secret does not match"}})
async def receive(services: ServicesDep, integration_id: uuid.UUID,
                  request: Request) -> Response:
    delivery = WebhookRequest(
        method=request.method, url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body())
    received = await receive_webhook(services, integration_id, delivery)
    headers = {"X-Connectus-Events-Stored": str(received.stored),
               "X-Connectus-Events-Duplicate": str(received.duplicates)}
    return Response(received.reply.body, status_code=received.reply.status,
                    media_type=received.reply.content_type, headers=headers)
