"""What the runs of one batch job share: integrations looked up, connectors opened and
the records their events name read, once for the batch rather than once a run.

A batch job's runs (runner.py) go side by side, so at each step they ask for the same
things at the same moment: the Slack integration of the workflow's notification, its
connector, and HubSpot's contact for each event. Here the first caller looks the
integration up (or the claim's resolve already did) and opens its connector, and the
others wait for it; the contacts the runs ask for in the same moment go in one
``read_ids`` (HubSpot's documented ``POST /crm/v3/objects/contacts/batch/read``, up to
100 ids a request) through a ``Coalescer`` (jobs/batching.py). A provider without a
batch read by id is read one record at a time, as before.

Everything here is keyed by tenant as well as integration: a batch's runs name their
own tenants (a job carries run ids only), and an integration is looked up in its run's
tenant's session, so a run never uses another tenant's. A failure of the batch read is
each waiting run's own (each retries, or fails, by the taxonomy); a record the provider
no longer has is that run's ``NotFoundAtProvider``, as the single read's 404 was.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from connectors.connector import Connector
from connectors.errors import NotFoundAtProvider
from connectors.http import Attempts
from connectors.quota import Priority
from jobs.batching import Coalescer
from jobs.connecting import open_connector
from jobs.constants import WORKFLOW_BATCH
from jobs.recording import UsageRecorder
from jobs.usage_batches import UsageBatches
from jobs.workflows.actions import IntegrationRef
from store.errors import NotFound
from store.models import Integration
from store.queries import find_integration

Key = tuple[uuid.UUID, uuid.UUID]  # (tenant, integration)
Found = tuple[Integration, str]
WORKFLOW_ATTEMPTS = Attempts(max_attempts=2, base_wait_s=0.25, max_wait_s=5.0)


class RunBatch:
    """Opened connectors live as long as the batch (``async with``)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.born = time.monotonic()
        self.users = 0  # the runs of a pool's (below) using it now
        self._stack = AsyncExitStack()
        self._found: dict[Key, Found] = {}
        self._open: dict[Key, tuple[Connector, IntegrationRef]] = {}
        self._locks: defaultdict[Key, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._records: dict[tuple[Key, str], Coalescer[str, dict[str, Any]]] = {}

    async def __aenter__(self) -> RunBatch:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.__aexit__(*exc)

    def know(self, integration: Integration, provider: str) -> None:
        """An integration read already (the run's resolve): no second lookup for it."""
        self._found.setdefault((integration.tenant_id, integration.id), (integration, provider))

    async def connector(self, tenant_id: uuid.UUID,
                        integration_id: uuid.UUID) -> tuple[Connector, IntegrationRef]:
        """The connector of one of the tenant's integrations, opened once for the batch."""
        key = (tenant_id, integration_id)
        if key in self._open:
            return self._open[key]
        async with self._locks[key]:
            if key not in self._open:
                integration, provider = await self._find(key)
                connector = await self._stack.enter_async_context(open_connector(
                    self.ctx["db"], self.ctx["vault"], self.ctx["redis"], integration,
                    provider, priority=Priority.workflow,
                    allow_private=bool(self.ctx.get("allow_private", False)),
                    attempts=self.ctx.get("workflow_attempts", WORKFLOW_ATTEMPTS), max_wait_s=10,
                    http=self.ctx.get("http"), recorder=self._usage(integration)))
                self._open[key] = (connector, ref(integration, provider))
        return self._open[key]

    async def _find(self, key: Key) -> Found:
        found: Found | None = self._found.get(key)
        if found is None:
            async with self.ctx["db"].session(key[0]) as session:
                found = await find_integration(session, key[1])
            if found is None:
                raise NotFound(f"integration {key[1]} is gone")
            self._found[key] = found
        return found

    def _usage(self, integration: Integration) -> UsageRecorder | None:
        batches: UsageBatches | None = self.ctx.get("usage")
        return batches.recorder(integration.tenant_id, integration.id) if batches else None

    async def record(self, tenant_id: uuid.UUID, integration_id: uuid.UUID, stream: str,
                     record_id: str) -> dict[str, Any]:
        """One record by id, read with the other runs' of this moment where the provider
        reads many by id in one request."""
        connector, _ = await self.connector(tenant_id, integration_id)
        if connector.spec.stream(stream).by_ids is None:
            return await connector.read_one(stream, record_id)
        key = ((tenant_id, integration_id), stream)
        if key not in self._records:
            self._records[key] = Coalescer(
                lambda ids: self._read_many(connector, stream, ids), max_items=WORKFLOW_BATCH)
        return await self._records[key].submit(record_id)

    async def _read_many(self, connector: Connector, stream: str,
                         ids: list[str]) -> list[dict[str, Any] | BaseException]:
        # raising would make the Coalescer read each id alone: a 429 a hundred times over
        try:
            found: dict[str, dict[str, Any]] = {}
            async for page in connector.read_ids(stream, sorted(set(ids))):
                found.update((str(r.get("id")), r) for r in page)
        except Exception as exc:  # each waiting run's own failure, classed by the runner
            return [exc] * len(ids)
        name = connector.spec.display_name or connector.spec.name
        return [found[i] if i in found else NotFoundAtProvider(
            f"{name} has no such resource: {stream} {i} is not there (deleted or merged)",
            provider=connector.spec.name, http_status=404) for i in ids]


class BatchPool:
    """A worker's runs share one ``RunBatch`` across jobs: one delivery of one event makes
    a job of one run, and a worker runs fifty such jobs at once. A batch is handed out
    for ``max_age_s`` (so an edited integration, a rotated credential, is seen that soon
    by new runs), then the next run starts a new one; an old batch closes its connectors
    when the last run using it ends."""

    def __init__(self, ctx: dict[str, Any], max_age_s: float = 5.0) -> None:
        self.ctx, self.max_age_s = ctx, max_age_s
        self._current: RunBatch | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[RunBatch]:
        batch = self._current
        if batch is None or time.monotonic() - batch.born > self.max_age_s:
            if batch is not None and batch.users == 0:
                await batch.__aexit__(None, None, None)
            batch = self._current = await RunBatch(self.ctx).__aenter__()
        batch.users += 1
        try:
            yield batch
        finally:
            batch.users -= 1
            if batch.users == 0 and batch is not self._current:
                await batch.__aexit__(None, None, None)

    async def close(self) -> None:
        batch, self._current = self._current, None
        if batch is not None and batch.users == 0:
            await batch.__aexit__(None, None, None)


@asynccontextmanager
async def batch_for(ctx: dict[str, Any]) -> AsyncIterator[RunBatch]:
    """The worker's shared batch (``ctx["workflow_batches"]``), else one of its own."""
    pool: BatchPool | None = ctx.get("workflow_batches")
    if pool is not None:
        async with pool.use() as batch:
            yield batch
    else:
        async with RunBatch(ctx) as batch:
            yield batch


def ref(integration: Integration, provider: str) -> IntegrationRef:
    return IntegrationRef(integration.id, integration.name, provider,
                          dict(integration.settings or {}))
