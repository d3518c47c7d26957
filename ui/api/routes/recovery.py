"""Recovering from what went wrong in a sync: re-running a run, and a flow's dead letters
and their replay after a mapping fix."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from tools import dead_letters, reruns
from ui.api.array_pages import PAGED, array_page
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["sync recovery"], responses=errors(422))


@router.post("/sync-runs/{run_id}/rerun/", status_code=202, response_model=reruns.RerunResult,
             responses=errors(400, 401, 403, 404, 409))
async def rerun_sync_run(services: ServicesDep, caller: CallerDep, run_id: uuid.UUID,
                         body: reruns.RerunRequest | None = None) -> reruns.RerunResult:
    """Queue a new run repeating a failed, partial or cancelled one: ``{"from": "start"}``
    re-reads the whole stream, ``{"from": "checkpoint"}`` resumes after its last batch."""
    return await reruns.rerun_sync_run(services, caller, run_id, body)


@router.get("/data-flows/{flow_id}/dead-letters/",
            response_model=list[dead_letters.DeadLetterPublic],
            responses={**errors(401, 404), **PAGED})
async def list_dead_letters(services: ServicesDep, caller: CallerDep, request: Request,
                            response: Response, flow_id: uuid.UUID,
                            status: dead_letters.LetterStatus | None = None,
                            limit: int = 100,
                            cursor: str | None = None) -> list[dead_letters.DeadLetterPublic]:
    """Newest first; ``limit`` is held to 1-500."""
    return array_page(request, response, await dead_letters.dead_letters_page(
        services, caller, flow_id, status, limit, cursor))


@router.post("/data-flows/{flow_id}/replay_failed_records/",
             response_model=dead_letters.ReplayResult,
             responses=errors(400, 401, 403, 404, 409))
async def replay_failed_records(services: ServicesDep, caller: CallerDep, flow_id: uuid.UUID,
                                body: dead_letters.ReplayRequest | None = None
                                ) -> dead_letters.ReplayResult:
    """Map the flow's open dead letters again with its current mapping: those that pass
    are synced and marked replayed, the rest stay open with their new errors."""
    return await dead_letters.replay_failed_records(services, caller, flow_id, body)
