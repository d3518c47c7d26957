"""What a health score is made of, gathered for every integration of one tenant in a few
grouped queries (one per kind of fact, never one per integration)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.registry import connector_spec
from jobs.sync.contracts import staleness_limit
from jobs.tokens import token_facts
from store.crypto import SecretBox
from store.models import (
    ApiUsage,
    DataFlow,
    HealthLog,
    Integration,
    IntegrationProvider,
    SyncRun,
    WebhookEvent,
)

WINDOW = timedelta(hours=24)  # syncs and errors count over the last day
PACE_HOURS = 2  # the usage pace is read over the current hour and the two before it
WEBHOOK_BASELINE = timedelta(days=7)


@dataclass
class StaleFlow:
    name: str
    frequency: str
    last_run_at: datetime | None
    idle: timedelta


@dataclass
class HealthInputs:
    integration_id: uuid.UUID
    name: str
    provider: str
    status: str
    last_error: str | None = None
    runs_finished: int = 0
    runs_failed: int = 0
    last_failure: str | None = None
    open_logs: dict[str, int] = field(default_factory=dict)  # severity -> count
    latest_log: str | None = None
    # operations against the provider's quota since midnight UTC, or the provider's own
    # count today when it reported a larger one
    used_today: int = 0
    reported_today: int = 0
    limit: int = 0  # the day's limit; 0: none known
    recent_operations: int = 0  # since the start of the hour PACE_HOURS ago
    recent_hours: float = 1.0  # how long that stretch is, so far
    token_expires_at: datetime | None = None
    can_refresh: bool = True
    stale_flows: list[StaleFlow] = field(default_factory=list)
    webhook_events: int = 0  # in the last WEBHOOK_BASELINE
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def gather(session: AsyncSession, vault: SecretBox, now: datetime,
                 only: list[uuid.UUID] | None = None) -> dict[uuid.UUID, HealthInputs]:
    """The inputs of every integration the session's tenant has (or of ``only``)."""
    query = (select(Integration, IntegrationProvider.name)
             .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id))
    if only is not None:
        query = query.where(Integration.id.in_(only))
    found: dict[uuid.UUID, HealthInputs] = {}
    for row, provider in (await session.execute(query)).all():
        found[row.id] = _own_inputs(row, provider, vault, now)
    if not found:
        return found
    ids = list(found)
    await _sync_runs(session, found, ids, now)
    await _open_logs(session, found, ids, now)
    await _usage(session, found, ids, now)
    await _flows(session, found, ids, now)
    await _webhooks(session, found, ids, now)
    return found


def _own_inputs(row: Integration, provider: str, vault: SecretBox,
                now: datetime) -> HealthInputs:
    spec = connector_spec(provider)
    daily = spec.rate_limit.daily if spec is not None else None
    inputs = HealthInputs(integration_id=row.id, name=row.name, provider=provider,
                          status=row.status, last_error=row.last_error,
                          limit=row.api_calls_limit or daily or 0)
    reported = row.usage_reported or {}
    if isinstance(reported.get("used"), int) and isinstance(reported.get("at"), str) and \
            datetime.fromisoformat(reported["at"]) >= _hour(now).replace(hour=0):
        inputs.reported_today = reported["used"]
    token = token_facts(vault, row, provider)
    inputs.token_expires_at, inputs.can_refresh = token.expires_at, token.renews_itself
    return inputs


async def _sync_runs(session: AsyncSession, found: dict[uuid.UUID, HealthInputs],
                     ids: list[uuid.UUID], now: datetime) -> None:
    rows = await session.execute(
        select(DataFlow.integration_id, SyncRun.status, func.count(),
               func.max(SyncRun.finished_at))
        .join(DataFlow, DataFlow.id == SyncRun.data_flow_id)
        .where(DataFlow.integration_id.in_(ids), SyncRun.finished_at >= now - WINDOW,
               SyncRun.status.in_(("succeeded", "partial", "failed")))
        .group_by(DataFlow.integration_id, SyncRun.status))
    for integration_id, status, count, _ in rows.all():
        found[integration_id].runs_finished += count
        if status == "failed":
            found[integration_id].runs_failed += count
    last_failures = await session.execute(
        select(DataFlow.integration_id, SyncRun.error)
        .join(DataFlow, DataFlow.id == SyncRun.data_flow_id)
        .where(DataFlow.integration_id.in_(ids), SyncRun.status == "failed",
               SyncRun.finished_at >= now - WINDOW)
        .order_by(DataFlow.integration_id, SyncRun.finished_at.desc())
        .ext(distinct_on(DataFlow.integration_id)))
    for integration_id, error in last_failures.all():
        found[integration_id].last_failure = error


async def _open_logs(session: AsyncSession, found: dict[uuid.UUID, HealthInputs],
                     ids: list[uuid.UUID], now: datetime) -> None:
    recent = (HealthLog.integration_id.in_(ids), HealthLog.resolved_at.is_(None),
              HealthLog.created_at >= now - WINDOW)
    rows = await session.execute(
        select(HealthLog.integration_id, HealthLog.severity, func.count())
        .where(*recent).group_by(HealthLog.integration_id, HealthLog.severity))
    for integration_id, severity, count in rows.all():
        if integration_id is not None:  # the IN above rules out NULL; mypy cannot tell
            found[integration_id].open_logs[severity] = count
    latest = await session.execute(
        select(HealthLog.integration_id, HealthLog.message)
        .where(*recent, HealthLog.severity.in_(("error", "critical")))
        .order_by(HealthLog.integration_id, HealthLog.created_at.desc())
        .ext(distinct_on(HealthLog.integration_id)))
    for integration_id, message in latest.all():
        if integration_id is not None:
            found[integration_id].latest_log = message


async def _usage(session: AsyncSession, found: dict[uuid.UUID, HealthInputs],
                 ids: list[uuid.UUID], now: datetime) -> None:
    start = _hour(now) - timedelta(hours=PACE_HOURS)
    midnight = _hour(now).replace(hour=0)
    rows = await session.execute(
        select(ApiUsage.integration_id,
               func.sum(ApiUsage.operations).filter(ApiUsage.hour >= start),
               func.sum(ApiUsage.operations).filter(ApiUsage.hour >= midnight))
        .where(ApiUsage.integration_id.in_(ids), ApiUsage.hour >= min(start, midnight))
        .group_by(ApiUsage.integration_id))
    hours = max((now - start).total_seconds() / 3600, 1.0)
    for integration_id, recent, today in rows.all():
        found[integration_id].recent_operations = int(recent or 0)
        found[integration_id].used_today = int(today or 0)
    for inputs in found.values():
        inputs.recent_hours = hours
        inputs.used_today = max(inputs.used_today, inputs.reported_today)


async def _flows(session: AsyncSession, found: dict[uuid.UUID, HealthInputs],
                 ids: list[uuid.UUID], now: datetime) -> None:
    flows = await session.scalars(
        select(DataFlow).where(DataFlow.integration_id.in_(ids), DataFlow.status == "active"))
    for flow in flows:
        since = flow.last_run_at or flow.created_at
        idle = now - since
        limit = staleness_limit(flow, since)  # the one rule the stale alerts use too
        if limit is not None and idle > limit:
            found[flow.integration_id].stale_flows.append(
                StaleFlow(flow.name, flow.sync_frequency, flow.last_run_at, idle))


async def _webhooks(session: AsyncSession, found: dict[uuid.UUID, HealthInputs],
                    ids: list[uuid.UUID], now: datetime) -> None:
    rows = await session.execute(
        select(WebhookEvent.integration_id, func.count(), func.min(WebhookEvent.received_at),
               func.max(WebhookEvent.received_at))
        .where(WebhookEvent.integration_id.in_(ids),
               WebhookEvent.received_at >= now - WEBHOOK_BASELINE)
        .group_by(WebhookEvent.integration_id))
    for integration_id, count, first, last in rows.all():
        inputs = found[integration_id]
        inputs.webhook_events, inputs.first_event_at, inputs.last_event_at = count, first, last
