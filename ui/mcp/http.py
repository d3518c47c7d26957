"""Streamable HTTP at /mcp on the web app, behind the REST API's bearer keys.

Every HTTP request is authenticated before the MCP SDK sees it: no key or a bad one is a
401 in the API's error shape, and no MCP message is read. Then it counts against its key's
``CONNECTUS_MCP_RATE_LIMIT`` (in Redis, for every replica): past it, a 429 with
Retry-After, again before the SDK reads anything. The caller (tenant, user, role)
rides the request's scope to the handlers, so each message acts for the key that sent it;
the SDK also binds a session to the user who opened it, so another key cannot use its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tools.auth import authenticate
from tools.context import AuthenticationFailed, Caller, Services, TransientError
from ui.api.errors import error_body
from ui.api.rate_limit import mcp_limiter
from ui.mcp.server import Context, build_server

PATH = "/mcp"
CALLER = "connectus.caller"


def _bearer(scope: Scope) -> str | None:
    sent = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").split()
    if not sent:
        return None
    if len(sent) != 2 or sent[0].lower() != "bearer":
        # only the scheme is echoed, never what follows it (that may be a secret)
        got = f"the {sent[0][:20]!r} scheme" if len(sent) > 1 else "no scheme and key"
        raise AuthenticationFailed("expected a Bearer API key ('Authorization: Bearer <key>'); "
                                   f"the Authorization header has {got}")
    return sent[1]


class KeyRequired:
    """No key, no MCP; and no more of it than the key's rate."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app, self.services = app, services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            key = _bearer(scope)
            caller = await authenticate(self.services, key)
        except AuthenticationFailed as exc:
            refused = JSONResponse(error_body(exc.code, exc.message), status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})
            await refused(scope, receive, send)
            return
        assert key is not None
        try:
            await mcp_limiter(self.services).hit(key)
        except TransientError as exc:  # 429 past the rate, 503 when Redis is away
            refused = JSONResponse(error_body(exc.code, exc.message), status_code=exc.status,
                                   headers={"Retry-After": str(exc.retry_after or 5)})
            await refused(scope, receive, send)
            return
        scope[CALLER] = caller
        # what the SDK compares to keep a session to the key that opened it; a hash, as the
        # scope may be logged
        scope["user"] = AuthenticatedUser(AccessToken(
            token="", client_id=str(caller.user_id), scopes=[caller.role.value],
            subject=hashlib.sha256(key.encode()).hexdigest()))
        await self.app(scope, receive, send)


def caller_of_request(ctx: Context) -> Caller:
    caller = ctx.request.scope.get(CALLER) if ctx.request is not None else None
    if not isinstance(caller, Caller):  # KeyRequired stands before every request
        raise AssertionError("an MCP message reached a handler unauthenticated")
    return caller


def mount_mcp(app: FastAPI, services: Services) -> None:
    """Serve MCP at /mcp; its session manager runs inside the app's lifespan."""
    manager = StreamableHTTPSessionManager(build_server(services, caller_of_request))
    endpoint = KeyRequired(StreamableHTTPASGIApp(manager), services)
    app.router.routes.append(Route(PATH, endpoint, methods=["GET", "POST", "DELETE"],
                                   include_in_schema=False))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        async with manager.run(), inner(started) as state:
            yield state

    app.router.lifespan_context = lifespan
