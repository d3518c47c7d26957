"""Dependencies as Annotated aliases: routes say what they need, not how to get it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tools.auth import authenticate
from tools.context import AuthenticationFailed, Caller, Services

_bearer = HTTPBearer(auto_error=False, description="A Connectus API key: `cx_...`")


async def get_services(request: Request) -> Services:
    # async, so FastAPI calls it on the event loop: a plain def would hop to its thread
    # pool on every request, and on a busy machine each hop waits for the GIL to come back
    services: Services = request.app.state.services
    return services


async def get_caller(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    sent = request.headers.get("authorization", "").split()
    if credentials is None and sent:
        # HTTPBearer reads "Basic ..." as no credentials at all: "missing" would mislead.
        # Only the scheme is echoed, never what follows it (that may be a secret).
        got = f"the {sent[0][:20]!r} scheme" if len(sent) > 1 else "no scheme and key"
        raise AuthenticationFailed("expected a Bearer API key ('Authorization: Bearer <key>'); "
                                   f"the Authorization header has {got}")
    return await authenticate(services, credentials.credentials if credentials else None)


ServicesDep = Annotated[Services, Depends(get_services)]
CallerDep = Annotated[Caller, Depends(get_caller)]
