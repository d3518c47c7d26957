"""Run the sandbox on a loopback port in a background thread (tests, `connectus up`)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from connectors.sandbox.app import create_app
from connectors.sandbox.kit import ProviderSandbox


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxServer:
    """``with SandboxServer() as server: server.url`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, **app_kwargs: Any):
        self.host = host
        self.port = port or free_port(host)
        self.app = create_app(**app_kwargs)
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sandboxes(self) -> dict[str, ProviderSandbox[Any]]:
        return self.app.state.sandboxes

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
