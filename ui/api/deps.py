"""Dependencies as Annotated aliases: routes say what they need, not how to get it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tools.auth import authenticate
from tools.context import Caller, Services

_bearer = HTTPBearer(auto_error=False, description="A Connectus API key: `cx_...`")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_caller(
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return await authenticate(services, credentials.credentials if credentials else None)


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
