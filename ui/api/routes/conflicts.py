"""/integrations/conflicts/... : fields both sides of a both-ways flow changed, kept with
both versions until a person settles them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tools import conflicts
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations", tags=["conflicts"], responses=errors(422))


@router.get("/conflicts/", response_model=list[conflicts.ConflictPublic],
            responses=errors(401))
async def list_conflicts(services: ServicesDep, caller: CallerDep,
                         data_flow: uuid.UUID | None = None,
                         status: Literal["open", "resolved"] | None = None,
                         limit: Annotated[int, Query(ge=1, le=conflicts.MAX_CONFLICTS)] = 50,
                         ) -> list[conflicts.ConflictPublic]:
    return await conflicts.list_conflicts(services, caller, data_flow, status, limit)


@router.get("/conflicts/{conflict_id}/", response_model=conflicts.ConflictPublic,
            responses=errors(401, 404))
async def get_conflict(services: ServicesDep, caller: CallerDep,
                       conflict_id: uuid.UUID) -> conflicts.ConflictPublic:
    return await conflicts.get_conflict(services, caller, conflict_id)


@router.post("/conflicts/{conflict_id}/resolve/", response_model=conflicts.Resolution,
             responses=errors(400, 401, 403, 404, 409, 413))
async def resolve_conflict(services: ServicesDep, caller: CallerDep, conflict_id: uuid.UUID,
                           body: conflicts.ResolveConflict) -> conflicts.Resolution:
    """Keep Connectus's values ("local": written to the provider by a queued run) or the
    provider's ("remote": taken into Connectus now)."""
    return await conflicts.resolve_conflict(services, caller, conflict_id, body.keep)
