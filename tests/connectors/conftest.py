"""Connectors against the running sandbox, with real Redis for quota and breaker state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from connectors.connector import Connector
from connectors.http import Attempts
from connectors.quota import Priority
from connectors.registry import connector_spec
from connectors.sandbox.server import SandboxServer


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


class Recorder:
    """An observer that keeps what it saw, for assertions."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, Any]] = []

    async def call(self, *, status: int | None, elapsed_ms: float, error: Any,
                   **_: Any) -> None:
        self.calls.append((status, error))

    @property
    def errors(self) -> list[Any]:
        return [e for _, e in self.calls if e is not None]


@pytest.fixture
async def connect(sandbox: SandboxServer, redis: Redis
                  ) -> AsyncIterator[Callable[..., Connector]]:
    """connect("hubspot", {"access_token": "sandbox"}, settings={...}) -> Connector."""
    made: list[Connector] = []

    def make(provider: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
             **kw: Any) -> Connector:
        spec = connector_spec(provider)
        assert spec is not None
        kw.setdefault("attempts", Attempts(max_attempts=6, base_wait_s=0.01, max_wait_s=2))
        kw.setdefault("priority", Priority.sync)
        connector = Connector(spec, credentials,
                              {"sandbox_url": sandbox.url, **(settings or {})}, redis=redis, **kw)
        made.append(connector)
        return connector

    yield make
    for connector in made:  # their connection pools, as open_connector closes them
        await connector.aclose()


async def oauth_tokens(sandbox: Any, provider: str, scope: str | None = None) -> dict[str, Any]:
    """Credentials as Connectus gets them: our authorize URL, the simulator's consent, our
    code exchange (connectors/oauth.py): the same path a person's browser takes."""
    from connectors import oauth

    spec = connector_spec(provider)
    assert spec is not None and spec.auth.oauth is not None
    config = spec.auth.oauth
    authorize, token_url = oauth.oauth_urls(config, sandbox.url, spec.sandbox_oauth)
    verifier = oauth.new_verifier() if config.pkce else None
    url = oauth.authorize_url(config, authorize, "sandbox-client", "http://localhost/cb",
                              "state-1", verifier)
    if scope is not None:
        url = str(httpx.URL(url).copy_set_param("scope", scope))
    async with httpx.AsyncClient() as client:
        consent = await client.get(url)
    code = httpx.URL(consent.headers["location"]).params["code"]
    return await oauth.exchange(config, token_url, "sandbox-client", "sandbox-secret",
                                "http://localhost/cb", code, verifier, provider)
