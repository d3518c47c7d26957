"""/integrations/integrations/... : the tenant's connected integrations, and OAuth."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from tools import integrations, oauth_flow, providers
from tools.paging import DEFAULT_LIMIT
from ui.api.array_pages import PAGED, array_page
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["integrations"], responses=errors(422))
AUTHENTICATED = errors(401)
WRITE = errors(400, 401, 403, 404, 409, 413)


@router.get("/integrations/", response_model=list[integrations.IntegrationPublic],
            responses={**AUTHENTICATED, **PAGED})
async def list_integrations(services: ServicesDep, caller: CallerDep, request: Request,
                            response: Response, provider: str | None = None,
                            status: str | None = None, cursor: str | None = None,
                            limit: int = DEFAULT_LIMIT) -> list[integrations.IntegrationPublic]:
    return array_page(request, response, await integrations.integrations_page(
        services, caller, provider, status, cursor, limit))


@router.post("/integrations/", status_code=201, response_model=integrations.IntegrationPublic,
             responses=errors(400, 401, 403, 409, 413))
async def create_integration(services: ServicesDep, caller: CallerDep,
                             body: integrations.IntegrationCreate
                             ) -> integrations.IntegrationPublic:
    return await integrations.create_integration(services, caller, body)


@router.get("/integrations/{integration_id}/", response_model=integrations.IntegrationPublic,
            responses=errors(401, 404))
async def get_integration(services: ServicesDep, caller: CallerDep,
                          integration_id: uuid.UUID) -> integrations.IntegrationPublic:
    return await integrations.get_integration(services, caller, integration_id)


@router.patch("/integrations/{integration_id}/", response_model=integrations.IntegrationPublic,
              responses=WRITE)
async def update_integration(services: ServicesDep, caller: CallerDep,
                             integration_id: uuid.UUID, body: integrations.IntegrationUpdate
                             ) -> integrations.IntegrationPublic:
    return await integrations.update_integration(services, caller, integration_id, body)


@router.delete("/integrations/{integration_id}/", status_code=204,
               responses=errors(401, 403, 404))
async def delete_integration(services: ServicesDep, caller: CallerDep,
                             integration_id: uuid.UUID) -> Response:
    await integrations.delete_integration(services, caller, integration_id)
    return Response(status_code=204)


@router.post("/integrations/{integration_id}/test_connection/",
             response_model=integrations.ConnectionReport, responses=errors(401, 403, 404))
async def test_connection(services: ServicesDep, caller: CallerDep,
                          integration_id: uuid.UUID) -> integrations.ConnectionReport:
    return await integrations.test_connection(services, caller, integration_id)


@router.get("/integrations/{integration_id}/capabilities/",
            response_model=providers.Capabilities, responses=errors(401, 404))
async def capabilities(services: ServicesDep, caller: CallerDep,
                       integration_id: uuid.UUID) -> providers.Capabilities:
    found = await integrations.get_integration(services, caller, integration_id)
    return await providers.provider_capabilities(services, caller, found.provider)


@router.post("/integrations/{integration_id}/oauth/connect/",
             response_model=oauth_flow.ConnectStart, responses=WRITE)
async def oauth_connect(services: ServicesDep, caller: CallerDep, integration_id: uuid.UUID,
                        body: oauth_flow.ConnectRequest) -> oauth_flow.ConnectStart:
    return await oauth_flow.start_connect(services, caller, integration_id, body.redirect_uri)


@router.get("/oauth/callback/", response_model=integrations.IntegrationPublic,
            responses=errors(404))
async def oauth_callback(services: ServicesDep, code: str,
                         state: str) -> integrations.IntegrationPublic:
    """Where the provider sends the person back. No API key: the signed state binds it."""
    return await oauth_flow.finish_connect(services, code, state)
