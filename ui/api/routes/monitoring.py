"""Health and usage over REST: the health summary, API usage, and the health logs with
their resolution. Included before the integrations router, so ``health_summary`` is
not read as an integration id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from tools import health_logs, health_summary, usage
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import error_body, errors

router = APIRouter(prefix="/integrations", tags=["health"], responses=errors(422))
# read by tools/health_args.moment, ISO 8601 only: pydantic's datetime would also take a
# bare number as epoch seconds, which the schema's date-time does not allow
Moment = Annotated[str | None, Query(max_length=40, json_schema_extra={"format": "date-time"},
                                     description="ISO 8601, e.g. 2026-12-01T09:00:00Z")]


@router.get("/integrations/health_summary/", response_model=health_summary.HealthSummary,
            responses=errors(401))
async def get_health_summary(services: ServicesDep,
                             caller: CallerDep) -> health_summary.HealthSummary:
    return await health_summary.health_summary(services, caller)


@router.api_route("/integrations/health_summary/",
                  methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False)
async def health_summary_is_read_only() -> JSONResponse:
    """Without this a PATCH or DELETE here would reach the integration routes' ``{id}``
    and be told "health_summary" is not a valid id: it is a 405 like any other."""
    return JSONResponse(error_body("method_not_allowed", "Method Not Allowed"),
                        status_code=405, headers={"Allow": "GET"})


@router.get("/api-usage/", response_model=list[usage.IntegrationUsage],
            responses=errors(401, 404))
async def get_api_usage(services: ServicesDep, caller: CallerDep,
                        integration: uuid.UUID | None = None) -> list[usage.IntegrationUsage]:
    return await usage.api_usage(services, caller, integration)


@router.get("/health-logs/", response_model=health_logs.HealthLogPage,
            responses=errors(401, 404))
async def list_health_logs(
        services: ServicesDep, caller: CallerDep, integration: uuid.UUID | None = None,
        severity: health_logs.Severity | None = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
        since: Moment = None, until: Moment = None,
        resolved: bool | None = None,
        cursor: Annotated[str | None, Query(max_length=200, description=(
            "next_cursor of the previous page"))] = None,
        limit: Annotated[int, Query(ge=1, le=health_logs.MAX_LOGS)] = 50,
) -> health_logs.HealthLogPage:
    return await health_logs.health_logs(services, caller, integration, severity, since,
                                         until=until, category=category, resolved=resolved,
                                         cursor=cursor, limit=limit)


@router.post("/health-logs/{log_id}/resolve/", response_model=health_logs.HealthLogPublic,
             responses=errors(400, 401, 403, 404, 409, 413))
async def resolve_health_log(services: ServicesDep, caller: CallerDep, log_id: uuid.UUID,
                             body: health_logs.Resolution) -> health_logs.HealthLogPublic:
    return await health_logs.resolve_health_log(services, caller, log_id, body.note)
