"""/integrations/workflows/... : a tenant's workflows, their runs and replays, the action
library and the workflow dead-letter list."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from tools import workflow_runs, workflows
from tools.paging import DEFAULT_LIMIT
from ui.api.array_pages import PAGED, array_page
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["workflows"], responses=errors(422))
WRITE = errors(400, 401, 403, 404, 409, 413)


@router.get("/workflows/actions/", responses=errors(401))
async def list_actions(caller: CallerDep) -> list[dict[str, Any]]:
    """Every action type, what it does, which parameters take templates, and its
    parameters as JSON Schema."""
    return workflows.list_actions()


@router.get("/workflows/", response_model=list[workflows.WorkflowPublic],
            responses={**errors(401), **PAGED})
async def list_workflows(services: ServicesDep, caller: CallerDep, request: Request,
                         response: Response, integration: uuid.UUID | None = None,
                         status: str | None = None, trigger_type: str | None = None,
                         cursor: str | None = None,
                         limit: int = DEFAULT_LIMIT) -> list[workflows.WorkflowPublic]:
    return array_page(request, response, await workflows.workflows_page(
        services, caller, integration, status, trigger_type, cursor, limit))


@router.post("/workflows/", status_code=201, response_model=workflows.WorkflowPublic,
             responses=errors(400, 401, 403, 409, 413))
async def create_workflow(services: ServicesDep, caller: CallerDep,
                          body: workflows.WorkflowCreate) -> workflows.WorkflowPublic:
    return await workflows.create_workflow(services, caller, body)


@router.get("/workflows/{workflow_id:uuid}/", response_model=workflows.WorkflowPublic,
            responses=errors(401, 404))
async def get_workflow(services: ServicesDep, caller: CallerDep,
                       workflow_id: uuid.UUID) -> workflows.WorkflowPublic:
    return await workflows.get_workflow(services, caller, workflow_id)


@router.patch("/workflows/{workflow_id:uuid}/", response_model=workflows.WorkflowPublic,
              responses=WRITE)
async def update_workflow(services: ServicesDep, caller: CallerDep, workflow_id: uuid.UUID,
                          body: workflows.WorkflowUpdate) -> workflows.WorkflowPublic:
    return await workflows.update_workflow(services, caller, workflow_id, body)


@router.delete("/workflows/{workflow_id:uuid}/", status_code=204, responses=errors(401, 403, 404))
async def delete_workflow(services: ServicesDep, caller: CallerDep,
                          workflow_id: uuid.UUID) -> Response:
    await workflows.delete_workflow(services, caller, workflow_id)
    return Response(status_code=204)


@router.post("/workflows/{workflow_id:uuid}/execute/", status_code=202,
             response_model=workflows.ExecuteResult,
             responses={**WRITE, 200: {"description": "a dry run's report"}})
async def execute_workflow(services: ServicesDep, caller: CallerDep, workflow_id: uuid.UUID,
                           response: Response,
                           body: workflows.ExecuteRequest | None = None
                           ) -> workflows.ExecuteResult:
    """Queue a run (202) with an optional sample payload as its event; ``dry_run`` shows
    what a run would do and changes nothing (200)."""
    result = await workflows.execute_workflow(services, caller, workflow_id, body)
    if result.dry_run is not None:
        response.status_code = 200
    return result


@router.get("/workflows/{workflow_id:uuid}/runs/",
            response_model=list[workflow_runs.WorkflowRunPublic], responses=errors(401, 404))
async def list_workflow_runs(services: ServicesDep, caller: CallerDep, workflow_id: uuid.UUID,
                             status: str | None = None,
                             limit: int = 50) -> list[workflow_runs.WorkflowRunPublic]:
    return await workflow_runs.list_runs(services, caller, workflow_id, status, limit)


@router.get("/workflow-runs/", response_model=list[workflow_runs.WorkflowRunPublic],
            responses={**errors(401), **PAGED})
async def list_runs(services: ServicesDep, caller: CallerDep, request: Request,
                    response: Response, status: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> list[workflow_runs.WorkflowRunPublic]:
    """Newest first; ``limit`` is held to 1-200."""
    return array_page(request, response, await workflow_runs.runs_page(
        services, caller, None, status, limit, cursor))


@router.get("/workflow-runs/{run_id}/", response_model=workflow_runs.WorkflowRunPublic,
            responses=errors(401, 404))
async def get_run(services: ServicesDep, caller: CallerDep,
                  run_id: uuid.UUID) -> workflow_runs.WorkflowRunPublic:
    return await workflow_runs.get_run(services, caller, run_id)


@router.post("/workflow-runs/{run_id}/replay/", status_code=202,
             response_model=workflow_runs.ReplayResult, responses=WRITE)
async def replay_run(services: ServicesDep, caller: CallerDep, run_id: uuid.UUID,
                     body: workflow_runs.ReplayRequest | None = None
                     ) -> workflow_runs.ReplayResult:
    """Replay a run from its trigger event (``{"from": "trigger"}``) or from its failed
    step (``{"from": "failed_step"}``)."""
    return await workflow_runs.replay_run(services, caller, run_id, body)


@router.get("/workflow-dead-letters/", response_model=list[workflow_runs.DeadLetterPublic],
            responses={**errors(401), **PAGED})
async def list_dead_letters(services: ServicesDep, caller: CallerDep, request: Request,
                            response: Response, status: str | None = "open",
                            integration: uuid.UUID | None = None, limit: int = 50,
                            cursor: str | None = None) -> list[workflow_runs.DeadLetterPublic]:
    """Provider events no active workflow took, newest first; ``limit`` held to 1-200."""
    return array_page(request, response, await workflow_runs.dead_letters_page(
        services, caller, status, integration, limit, cursor))


@router.post("/workflow-dead-letters/{letter_id}/replay/",
             response_model=workflow_runs.DeadLetterPublic, responses=WRITE)
async def replay_dead_letter(services: ServicesDep, caller: CallerDep,
                             letter_id: uuid.UUID) -> workflow_runs.DeadLetterPublic:
    return await workflow_runs.replay_dead_letter_event(services, caller, letter_id)


@router.post("/workflow-dead-letters/{letter_id}/discard/",
             response_model=workflow_runs.DeadLetterPublic, responses=WRITE)
async def discard_dead_letter(services: ServicesDep, caller: CallerDep,
                              letter_id: uuid.UUID) -> workflow_runs.DeadLetterPublic:
    return await workflow_runs.discard_dead_letter(services, caller, letter_id)
