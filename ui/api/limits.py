"""Request bodies are bounded before anything reads them.

Pure ASGI, so it sees every chunk: a declared Content-Length over the limit
is refused at once, and a chunked (or lying) body is counted as it streams
and refused the moment it passes the limit. Webhook deliveries get the
larger limit their providers document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools.context import ConnectusError
from ui.api.errors import error_body


class BodyTooLarge(ConnectusError):
    code = "too_large"
    status = 413


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, by_prefix: Mapping[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.by_prefix = dict(by_prefix)

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.by_prefix.items() if path.startswith(prefix)),
                    self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        too_large = BodyTooLarge(f"the request body is larger than {limit} bytes, the most "
                                 "this endpoint accepts")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, too_large)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:  # the app answered before reading it all; nothing more to say
                return
            await _refuse(send, too_large)


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    body = json.dumps(error_body(error.code, error.message)).encode()
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
