"""A batch's runs share one connector per (tenant, integration), opened once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jobs.workflows.connector_pool import ConnectorPool


async def test_runs_asking_at_once_open_one_connector_per_tenant_and_integration() -> None:
    opened: list[str] = []
    closed: list[str] = []

    @asynccontextmanager
    async def opener(integration: Any, provider: str) -> AsyncIterator[Any]:
        opened.append(integration)
        await asyncio.sleep(0.01)  # a slow open: the others must wait for it, not open too
        yield f"connector of {integration}"
        closed.append(integration)

    integration = uuid.uuid4()
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()

    async def find_a() -> tuple[Any, str]:
        return "a", "hubspot"

    async def find_b() -> tuple[Any, str]:
        return "b", "hubspot"

    async def gone() -> None:
        return None

    async with ConnectorPool() as pool:
        got = await asyncio.gather(
            *(pool.get((tenant_a, integration), find_a, opener) for _ in range(20)),
            pool.get((tenant_b, integration), find_b, opener))
        assert opened == ["a", "b"]
        assert {g[0] for g in got if g} == {"connector of a", "connector of b"}
        assert await pool.get((tenant_a, uuid.uuid4()), gone, opener) is None
        assert closed == []
    assert sorted(closed) == ["a", "b"]
