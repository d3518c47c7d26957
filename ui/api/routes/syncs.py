"""Sync now, and the runs it leaves: /integrations/integrations/{id}/sync_now/ and
/integrations/sync-runs/."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from tools import syncs
from ui.api.array_pages import PAGED, array_page
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["syncs"], responses=errors(422))


@router.post("/integrations/{integration_id}/sync_now/", status_code=202,
             response_model=syncs.SyncNowResult, responses=errors(400, 401, 403, 404))
async def sync_now(services: ServicesDep, caller: CallerDep, integration_id: uuid.UUID,
                   body: syncs.SyncNowRequest | None = None) -> syncs.SyncNowResult:
    return await syncs.sync_now(services, caller, integration_id, body)


@router.get("/sync-runs/", response_model=list[syncs.SyncRunPublic],
            responses={**errors(401), **PAGED})
async def list_sync_runs(services: ServicesDep, caller: CallerDep, request: Request,
                         response: Response, data_flow: uuid.UUID | None = None,
                         status: str | None = None, limit: int = 50,
                         cursor: str | None = None) -> list[syncs.SyncRunPublic]:
    """Newest first; ``limit`` is held to 1-200."""
    return array_page(request, response, await syncs.sync_runs_page(
        services, caller, data_flow, status, limit, cursor))


@router.get("/sync-runs/{run_id}/", response_model=syncs.SyncRunPublic,
            responses=errors(401, 404))
async def get_sync_run(services: ServicesDep, caller: CallerDep,
                       run_id: uuid.UUID) -> syncs.SyncRunPublic:
    return await syncs.get_sync_run(services, caller, run_id)
