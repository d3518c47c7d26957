"""/integrations/data-flows/... : a tenant's data flows and their dry runs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from tools import data_flows, flow_dry_run
from tools.paging import DEFAULT_LIMIT
from ui.api.array_pages import PAGED, array_page
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["data flows"], responses=errors(422))
WRITE = errors(400, 401, 403, 404, 409, 413)


@router.get("/data-flows/", response_model=list[data_flows.DataFlowPublic],
            responses={**errors(401), **PAGED})
async def list_data_flows(services: ServicesDep, caller: CallerDep, request: Request,
                          response: Response, integration: uuid.UUID | None = None,
                          status: str | None = None, cursor: str | None = None,
                          limit: int = DEFAULT_LIMIT) -> list[data_flows.DataFlowPublic]:
    return array_page(request, response, await data_flows.data_flows_page(
        services, caller, integration, status, cursor, limit))


@router.post("/data-flows/", status_code=201, response_model=data_flows.DataFlowPublic,
             responses=errors(400, 401, 403, 409, 413))
async def create_data_flow(services: ServicesDep, caller: CallerDep,
                           body: data_flows.DataFlowCreate) -> data_flows.DataFlowPublic:
    return await data_flows.create_data_flow(services, caller, body)


@router.get("/data-flows/{flow_id}/", response_model=data_flows.DataFlowPublic,
            responses=errors(401, 404))
async def get_data_flow(services: ServicesDep, caller: CallerDep,
                        flow_id: uuid.UUID) -> data_flows.DataFlowPublic:
    return await data_flows.get_data_flow(services, caller, flow_id)


@router.patch("/data-flows/{flow_id}/", response_model=data_flows.DataFlowPublic,
              responses=WRITE)
async def update_data_flow(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                           body: data_flows.DataFlowUpdate) -> data_flows.DataFlowPublic:
    return await data_flows.update_data_flow(services, caller, flow_id, body)


@router.delete("/data-flows/{flow_id}/", status_code=204, responses=errors(401, 403, 404))
async def delete_data_flow(services: ServicesDep, caller: CallerDep,
                           flow_id: uuid.UUID) -> Response:
    await data_flows.delete_data_flow(services, caller, flow_id)
    return Response(status_code=204)


@router.post("/data-flows/{flow_id}/test_mapping/",
             response_model=flow_dry_run.TestMappingReport, responses=WRITE)
async def test_mapping(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                       body: flow_dry_run.TestMappingRequest | None = None
                       ) -> flow_dry_run.TestMappingReport:
    """A dry run: the mapping on the given records or a live sample; writes nothing."""
    return await flow_dry_run.test_mapping(services, caller, flow_id,
                                           body or flow_dry_run.TestMappingRequest())
