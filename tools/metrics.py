"""The figures /metrics serves that every process shares, read at scrape time from where
they are already kept: sync runs and workflow runs in PostgreSQL, provider calls in the
hourly usage rows, the queue in Redis. Workers run in other processes (any number, on any
machine): reading the shared stores counts their work exactly once, with nothing to lose
when a worker restarts, where in-process counters would need every worker scraped.

Across tenants on purpose, and only as totals by provider and status: no tenant, no name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from jobs.constants import QUEUE_NAME
from store.models import (
    ApiUsage,
    DataFlow,
    Integration,
    IntegrationProvider,
    SyncRun,
    WorkflowRun,
)
from tools.context import Services


@dataclass
class Snapshot:
    # (provider, outcome) -> records; outcome: read, written, failed, unchanged, deleted
    sync_records: dict[tuple[str, str], int] = field(default_factory=dict)
    sync_runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (provider, status)
    workflow_runs: dict[str, int] = field(default_factory=dict)  # status -> runs
    provider_calls: dict[str, int] = field(default_factory=dict)
    provider_errors: dict[str, int] = field(default_factory=dict)
    provider_rate_limited: dict[str, int] = field(default_factory=dict)
    queue_depth: int | None = None  # None: no queue here to measure


OUTCOMES = ("read", "written", "failed", "unchanged", "deleted")


async def snapshot(services: Services) -> Snapshot:
    found = Snapshot()
    columns = [func.coalesce(func.sum(getattr(SyncRun, f"records_{name}")), 0)
               for name in OUTCOMES]
    async with services.db.system_session() as session:
        syncs = await session.execute(
            select(IntegrationProvider.name, SyncRun.status, func.count(), *columns)
            .join(DataFlow, DataFlow.id == SyncRun.data_flow_id)
            .join(Integration, Integration.id == DataFlow.integration_id)
            .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
            .group_by(IntegrationProvider.name, SyncRun.status))
        for provider, status, runs, *records in syncs:
            found.sync_runs[(provider, status)] = runs
            for name, count in zip(OUTCOMES, records, strict=True):
                key = (provider, name)
                found.sync_records[key] = found.sync_records.get(key, 0) + int(count)
        runs = await session.execute(
            select(WorkflowRun.status, func.count()).group_by(WorkflowRun.status))
        found.workflow_runs = {status: count for status, count in runs}
        usage = await session.execute(
            select(IntegrationProvider.name, func.sum(ApiUsage.calls), func.sum(ApiUsage.errors),
                   func.sum(ApiUsage.rate_limited))
            .join(Integration, Integration.id == ApiUsage.integration_id)
            .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
            .group_by(IntegrationProvider.name))
        for provider, calls, errors, limited in usage:
            found.provider_calls[provider] = int(calls or 0)
            found.provider_errors[provider] = int(errors or 0)
            found.provider_rate_limited[provider] = int(limited or 0)
    if services.queue is not None:
        # arq keeps queued (and deferred) jobs in one sorted set
        found.queue_depth = int(await services.queue.zcard(QUEUE_NAME))
    return found
