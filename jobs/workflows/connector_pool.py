"""The connectors of one batch of workflow runs, each opened once and shared.

A batch job's runs mostly call the same integrations (the trigger's, a Slack's), and
opening a connector (decrypt, egress check, a client) per run was ~7% of a worker's CPU.
Keys are (tenant, integration): a batch may hold runs of several tenants, and a run only
ever gets its own tenant's integration. Failures still mark the integration's status
through the run (runner.Execution._note), not through the connector's close.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType

from connectors.connector import Connector
from store.models import Integration

Key = tuple[uuid.UUID, uuid.UUID]  # (tenant_id, integration_id)
Opener = Callable[[Integration, str], AbstractAsyncContextManager[Connector]]
Finder = Callable[[], Awaitable[tuple[Integration, str] | None]]


class ConnectorPool:
    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self._open: dict[Key, tuple[Connector, Integration, str]] = {}
        self._locks: dict[Key, asyncio.Lock] = {}

    async def __aenter__(self) -> ConnectorPool:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        return await self._stack.__aexit__(kind, exc, tb)

    async def get(self, key: Key, find: Finder,
                  opener: Opener) -> tuple[Connector, Integration, str] | None:
        """The open connector for ``key``; ``find`` and ``opener`` run once per key, even
        when many runs ask at the same time. None when the integration is gone."""
        if key in self._open:
            return self._open[key]
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._open:
                found = await find()
                if found is None:
                    return None
                integration, provider = found
                connector = await self._stack.enter_async_context(
                    opener(integration, provider))
                self._open[key] = (connector, integration, provider)
        return self._open[key]
