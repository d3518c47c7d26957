"""/integrations/audit-log/: who changed what, for admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from tools import audit_log, paging
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors
from ui.api.routes.monitoring import Moment

router = APIRouter(prefix="/integrations", tags=["accounts"], responses=errors(401, 403, 422))


@router.get("/audit-log/", response_model=paging.Page[audit_log.AuditEntry])
async def read_audit_log(
        services: ServicesDep, caller: CallerDep,
        action: Annotated[str | None, Query(max_length=100, description=(
            "e.g. integration.update; ending in a dot, every action under it"))] = None,
        target_type: Annotated[str | None, Query(max_length=50)] = None,
        target_id: Annotated[str | None, Query(max_length=100)] = None,
        user_id: uuid.UUID | None = None, since: Moment = None, until: Moment = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)] = 50,
) -> paging.Page[audit_log.AuditEntry]:
    return await audit_log.audit_log(
        services, caller, action=action, target_type=target_type, target_id=target_id,
        user_id=user_id, since=since, until=until, cursor=cursor, limit=limit)
