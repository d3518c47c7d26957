"""One sandbox server per test session; each test starts from a reset simulator state."""

from collections.abc import Iterator

import pytest

from connectors.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The running sandbox with every simulator reset: no faults, writes or tokens."""
    for box in sandbox_server.sandboxes.values():
        box.reset()
    yield sandbox_server
