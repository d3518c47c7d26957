"""One error body for every error the REST API returns:

    {"error": {"code": "not_found", "message": "no provider 'foo'", "details": [...]}}

``details`` names the field or location when the input was at fault.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from tools.context import ConnectusError, TransientError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine name: not_found, invalid, forbidden, ...")
    message: str = Field(description="what is wrong and where, for a person")
    details: list[dict[str, Any]] = Field(description="the field or location at fault")


class ErrorBody(BaseModel):
    """The one shape of every error the REST API returns."""

    error: ErrorDetail


WHEN = {
    400: "the body is not readable (not JSON, or not text)",
    401: "no API key, not a Bearer one, or an unknown or revoked one",
    403: "the caller's role may not do this",
    404: "no such thing in this tenant",
    409: "it would duplicate existing data",
    413: "the request body is larger than the limit",
    422: "invalid input; details name the field",
    429: "too many requests for this API key; Retry-After says when to try again",
    503: "a part it needs (Redis, a provider) is unavailable; Retry-After says when to retry",
}


METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the errors an operation can answer, in the error shape."""
    return {status: {"model": ErrorBody, "description": WHEN[status]} for status in statuses}


def _allowed_methods(request: Request) -> str:
    """Every method some route on this path takes: the routers are written one route per
    method, and Starlette's 405 names only the first route's."""
    allowed = [method for method in METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in request.app.router.routes)]
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    @app.exception_handler(ConnectusError)
    async def connectus_error(_: Request, exc: ConnectusError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return JSONResponse(error_body(exc.code, exc.message, exc.details),
                            status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
                   for err in exc.errors()]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return JSONResponse(error_body("invalid", f"invalid request: {summary}", details),
                            status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated",
                400: "unreadable"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(UnicodeError)
    async def bad_text(_: Request, exc: UnicodeError) -> JSONResponse:
        return JSONResponse(error_body(
            "invalid", "the request holds text that is not valid Unicode (a lone surrogate "
            "escape such as \\ud800?)"), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal", "internal error; see the server log"),
                            status_code=500)
