"""/integrations/connectus/... : the insights the jobs found, the recommendations to act
on, resolving and reading them, and the tenant's insight settings. Ids are typed as UUIDs,
so ``ask_connectus`` and ``confirmations`` (the agent's routes) are never taken for one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from tools import insights
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations/connectus", tags=["insights"], responses=errors(422))
WRITE = errors(401, 403, 404)


@router.get("/", response_model=insights.InsightPage, responses=errors(401, 404))
async def list_insights(services: ServicesDep, caller: CallerDep,
                        integration: str | None = None, is_read: bool | None = None,
                        is_resolved: bool | None = None, priority: str | None = None,
                        insight_type: str | None = None, detector: str | None = None,
                        limit: int = 50, offset: int = 0) -> insights.InsightPage:
    """Newest opening first. ``integration`` is an id or a name."""
    return await insights.list_insights(
        services, caller, integration, is_read=is_read, is_resolved=is_resolved,
        priority=priority, insight_type=insight_type, detector=detector, limit=limit,
        offset=offset)


@router.get("/recommendations/", response_model=list[insights.Recommendation],
            responses=errors(401, 404))
async def recommendations(services: ServicesDep, caller: CallerDep,
                          integration: str | None = None) -> list[insights.Recommendation]:
    """What to do now: open insights that say what to do, most urgent first."""
    return await insights.recommendations(services, caller, integration)


@router.get("/settings/", response_model=insights.InsightSettingsPublic, responses=errors(401))
async def get_settings(services: ServicesDep,
                       caller: CallerDep) -> insights.InsightSettingsPublic:
    return await insights.get_insight_settings(services, caller)


@router.patch("/settings/", response_model=insights.InsightSettingsPublic,
              responses=errors(400, 401, 403))
async def update_settings(services: ServicesDep, caller: CallerDep,
                          body: insights.InsightSettingsUpdate) -> insights.InsightSettingsPublic:
    """``auto_tune_frequency``: apply sync-frequency advice by itself (admin)."""
    return await insights.update_insight_settings(services, caller, body)


@router.get("/{insight_id:uuid}/", response_model=insights.InsightPublic,
            responses=errors(401, 404))
async def get_insight(services: ServicesDep, caller: CallerDep,
                      insight_id: uuid.UUID) -> insights.InsightPublic:
    return await insights.get_insight(services, caller, insight_id)


@router.patch("/{insight_id:uuid}/", response_model=insights.InsightPublic,
              responses=errors(400, 401, 403, 404))
async def update_insight(services: ServicesDep, caller: CallerDep, insight_id: uuid.UUID,
                         body: insights.InsightUpdate) -> insights.InsightPublic:
    """``{"is_read": true}`` (or false); ``{"is_resolved": true}`` resolves it."""
    return await insights.update_insight(services, caller, insight_id, body)


@router.post("/{insight_id:uuid}/resolve/", response_model=insights.InsightPublic,
             responses=WRITE)
async def resolve_insight(services: ServicesDep, caller: CallerDep,
                          insight_id: uuid.UUID) -> insights.InsightPublic:
    return await insights.resolve_insight(services, caller, insight_id)
