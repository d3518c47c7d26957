"""PostgreSQL cannot store a NUL character: a request carrying one is refused up front
with a clear 422 instead of failing deep down.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs every request in a
task group of its own with memory streams between: measurable per webhook delivery.
The body of a POST, PUT or PATCH is read once here and handed on as it came.
"""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.api.errors import error_body

WITH_BODY = {"POST", "PUT", "PATCH"}


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url = URL(scope=scope)
        if "%00" in url.path or "%00" in url.query:
            await _refuse(scope, receive, send, "the URL", "query")
            return
        if scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client is gone: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or b"\\u0000" in body:
            await _refuse(scope, receive, send, "the body", "body")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, where: str, field: str) -> None:
    response = JSONResponse(error_body(
        "invalid", f"{where} contains a NUL character (\\0), which Connectus cannot store",
        [{"field": field}]), status_code=422)
    await response(scope, receive, send)
