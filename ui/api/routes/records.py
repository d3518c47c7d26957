"""/integrations/data-flows/{id}/records/... : a flow's records as Connectus holds them,
and changes made here for an outbound or both-ways flow to write to the provider."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from tools import flow_records
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["data flows"], responses=errors(422))
ExternalId = Annotated[str, Path(min_length=1, max_length=200,
                                 description="the record's id in this flow")]


@router.get("/data-flows/{flow_id}/records/",
            response_model=list[flow_records.SyncedRecordPublic], responses=errors(401, 404))
async def list_records(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                       waiting: Annotated[bool | None, Query(description=(
                           "true: only records the provider has not taken yet"))] = None,
                       after: Annotated[str | None, Query(max_length=200, description=(
                           "the last external_id of the previous page"))] = None,
                       limit: Annotated[int, Query(ge=1, le=flow_records.MAX_RECORDS)] = 50,
                       ) -> list[flow_records.SyncedRecordPublic]:
    return await flow_records.list_records(services, caller, flow_id, waiting=waiting,
                                           after=after, limit=limit)


@router.get("/data-flows/{flow_id}/records/{external_id}/",
            response_model=flow_records.SyncedRecordPublic, responses=errors(401, 404))
async def get_record(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                     external_id: ExternalId) -> flow_records.SyncedRecordPublic:
    return await flow_records.get_record(services, caller, flow_id, external_id)


@router.put("/data-flows/{flow_id}/records/{external_id}/",
            response_model=flow_records.PutResult,
            responses={201: {"model": flow_records.PutResult,
                             "description": "the record was created"},
                       **errors(400, 401, 403, 404, 409, 413)})
async def put_record(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                     external_id: ExternalId, body: flow_records.RecordWrite,
                     response: Response) -> flow_records.PutResult:
    """Create the record or change the fields given (others keep their value); the flow's
    next run writes it to the provider. 201 when it was created, else 200."""
    result = await flow_records.put_record(services, caller, flow_id, external_id, body)
    if result.created:
        response.status_code = 201
    return result
