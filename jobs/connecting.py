"""Open a Connector for a stored Integration: decrypt, wire recording, persist refreshes.

Shared by jobs (syncs, workflow steps) and tools (test_connection, the
agent's reads), so every caller gets the same budget, breaker and records. A
failure that escapes sets the integration's status by the one rule,
``store.errors.integration_status_after``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import update

from connectors.connector import Connector
from connectors.egress import check_public_url, own_sandboxes
from connectors.http import Attempts
from connectors.quota import Priority
from connectors.registry import connector_spec
from jobs.health.refresh import refresh_health
from jobs.recording import UsageRecorder
from store.crypto import SecretBox
from store.db import Database
from store.errors import ConnectusError, ValidationFailed, integration_status_after
from store.models import Integration
from store.queries import decrypt_credentials


@asynccontextmanager
async def open_connector(db: Database, vault: SecretBox, redis: Redis,
                         integration: Integration, provider: str, *,
                         priority: Priority = Priority.sync,
                         attempts: Attempts | None = None,
                         max_wait_s: float = 30.0,
                         allow_private: bool = False,
                         http: httpx.AsyncClient | None = None,
                         recorder: UsageRecorder | None = None) -> AsyncIterator[Connector]:
    """``allow_private``: the operator's CONNECTUS_ALLOW_PRIVATE_URLS (Settings); ``http``:
    a client shared with other connectors (jobs/http_client.py), else one of its own;
    ``recorder``: a usage recorder its owner flushes (jobs/usage_batches.py), else one
    flushed when the connector closes."""
    spec = connector_spec(provider)
    if spec is None:
        raise ValidationFailed(f"no connector for provider {provider!r}")
    credentials = decrypt_credentials(vault, integration)
    tenant_id, integration_id = integration.tenant_id, integration.id

    async def save(fresh: dict[str, Any]) -> None:
        await _store_credentials(db, vault, tenant_id, integration_id, fresh)

    own = recorder is None
    try:
        async with contextlib.AsyncExitStack() as owned:
            if recorder is None:  # one of its own, flushed when the connector closes
                recorder = await owned.enter_async_context(
                    UsageRecorder(db, tenant_id, integration_id))
            connector = Connector(spec, credentials, integration.settings, redis=redis,
                                  priority=priority, observer=recorder, save_credentials=save,
                                  attempts=attempts, max_wait_s=max_wait_s, http=http)
            try:
                await check_destinations(connector, allow_private=allow_private)
                yield connector
            except ConnectusError as exc:
                if exc.integration_status is not None:  # else the status stays as it was
                    await _mark(db, tenant_id, integration_id,
                                integration_status_after(exc, integration.status),
                                exc.message)
                raise
            finally:
                await connector.aclose()
    finally:
        # its own recorder logged an error: the score is due again now (a shared recorder
        # writes its logs when its owner flushes, and the cron's rescoring reads them)
        if own and recorder is not None and recorder.failures_written:
            await refresh_health(db, vault, tenant_id, [integration_id])


async def check_destinations(connector: Connector, *, allow_private: bool) -> None:
    """Again on connecting, not only when saved: DNS may have changed since, the row may
    predate the check, and a credential (Salesforce's instance_url) can set the host."""
    settings = connector.settings
    field = ("settings.base_url" if settings.get("base_url") else
             "settings.sandbox_url" if settings.get("sandbox_url") else
             f"the {connector.spec.name} API URL ({connector.spec.base_url})")
    await check_public_url(connector.client.base_url, field=field,
                           allow_private=allow_private, allowed=own_sandboxes())
    if isinstance(settings.get("sandbox_url"), str):  # token refreshes go there too
        await check_public_url(settings["sandbox_url"], field="settings.sandbox_url",
                               allow_private=allow_private, allowed=own_sandboxes())


async def _store_credentials(db: Database, vault: SecretBox, tenant_id: uuid.UUID,
                             integration_id: uuid.UUID, fresh: dict[str, Any]) -> None:
    async with db.transaction(tenant_id) as session:
        await session.execute(update(Integration).where(Integration.id == integration_id)
                              .values(auth_credentials=vault.encrypt(fresh)))


async def _mark(db: Database, tenant_id: uuid.UUID, integration_id: uuid.UUID, status: str,
                error: str | None) -> None:
    async with db.transaction(tenant_id) as session:
        await session.execute(update(Integration).where(Integration.id == integration_id)
                              .values(status=status, last_error=error))
