"""Fixtures the simulator tests share: a local endpoint that webhooks are delivered to.

The sandbox server itself comes from the session fixtures in ``tests/conftest.py``
(``sandbox_server`` / ``sandbox``), which reset every simulator before each test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest


@dataclass(frozen=True)
class Received:
    """One request the receiver was sent; header lookup ignores case."""

    method: str
    path: str
    headers: httpx.Headers
    body: bytes


# What to answer a request with: (status, headers, body).
Reply = Callable[[Received], tuple[int, dict[str, str], bytes]]


class Receiver:
    """A loopback HTTP endpoint that records every request (``calls``) and answers with
    ``reply(request)``, or by default with ``status`` and an empty body. Both may be
    changed mid-test, e.g. to play a receiver that stops answering 200."""

    def __init__(self) -> None:
        self.calls: list[Received] = []
        self.status = 200
        self.reply: Reply | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(self.command, self.path, httpx.Headers(self.headers.items()),
                               self.rfile.read(length))
                owner.calls.append(got)
                status, headers, body = (owner.reply(got) if owner.reply
                                         else (owner.status, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval keeps shutdown (once per test) quick.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def posted(self) -> list[Received]:
        return [call for call in self.calls if call.method == "POST"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver for this test, closed afterwards."""
    endpoint = Receiver()
    yield endpoint
    endpoint.close()
