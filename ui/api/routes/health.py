"""GET /healthz: is the service up, and are its database and queue reachable?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tools.health import service_health
from ui.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    healthy, checks = await service_health(services)
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks},
                        status_code=200 if healthy else 503)
