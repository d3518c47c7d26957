"""One tenant's recent history, read in a handful of queries per tick: integrations,
flows and their finished runs, hourly usage, dead-letter reasons, webhook workflows and
the deliveries that trigger them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from jobs.insights.finding import DAY, GOOD, WINDOW, EventStats, IntegrationView, Snapshot
from jobs.tokens import token_facts
from store.crypto import SecretBox
from store.models import (
    ApiUsage,
    DataFlow,
    DeadLetter,
    InsightSettings,
    Integration,
    IntegrationProvider,
    SyncRun,
    WebhookEvent,
    WorkflowAutomation,
)

MAX_REJECTIONS = 2_000  # dead letters read per tick to find the rule that fails most
# what the detectors read of a run: not its cursors, checkpoint or summary
RUN_COLUMNS = load_only(SyncRun.data_flow_id, SyncRun.status, SyncRun.started_at,
                        SyncRun.finished_at, SyncRun.records_read, SyncRun.records_written,
                        SyncRun.records_failed, SyncRun.records_deleted, SyncRun.error)


def _daily_limit(row: Integration, limits: dict[str, Any]) -> int | None:
    if row.api_calls_limit:
        return int(row.api_calls_limit)
    daily = limits.get("daily")
    return int(daily) if isinstance(daily, int) and daily > 0 else None


def _view(row: Integration, provider: IntegrationProvider, vault: SecretBox) -> IntegrationView:
    token = token_facts(vault, row, provider.name)
    return IntegrationView(
        id=row.id, name=row.name, provider=provider.name, status=row.status,
        daily_limit=_daily_limit(row, provider.rate_limits or {}),
        token_expires_at=token.expires_at.timestamp() if token.expires_at else None,
        renews_itself=token.renews_itself,
        oauth=provider.auth_type == "oauth2", last_error=row.last_error)


async def load_snapshot(session: AsyncSession, vault: SecretBox, tenant_id: uuid.UUID,
                        now: datetime) -> Snapshot:
    since = now - WINDOW
    integrations = {row.id: _view(row, provider, vault) for row, provider in (
        await session.execute(select(Integration, IntegrationProvider).join(
            IntegrationProvider, IntegrationProvider.id == Integration.provider_id))).all()}
    flows = list((await session.scalars(select(DataFlow).order_by(DataFlow.name))).all())
    runs: dict[uuid.UUID, list[Any]] = {}
    for run in (await session.scalars(
            select(SyncRun).options(RUN_COLUMNS)
            .where(SyncRun.finished_at >= since, SyncRun.finished_at <= now)
            .order_by(SyncRun.finished_at))).all():
        runs.setdefault(run.data_flow_id, []).append(run)
    last_good = {flow: at for flow, at in (await session.execute(
        select(SyncRun.data_flow_id, func.max(SyncRun.finished_at))
        .where(SyncRun.status.in_(GOOD), SyncRun.finished_at <= now)
        .group_by(SyncRun.data_flow_id))).all() if at is not None}
    usage: dict[uuid.UUID, dict[datetime, tuple[int, int]]] = {}
    for row in (await session.scalars(
            select(ApiUsage).where(ApiUsage.hour >= since, ApiUsage.hour <= now))).all():
        usage.setdefault(row.integration_id, {})[row.hour] = (row.calls, row.errors)
    rejections: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for flow_id, errors in (await session.execute(
            select(DeadLetter.data_flow_id, DeadLetter.errors)
            .where(DeadLetter.created_at >= now - DAY, DeadLetter.created_at <= now)
            .order_by(DeadLetter.created_at.desc()).limit(MAX_REJECTIONS))).all():
        rejections.setdefault(flow_id, []).extend(e for e in errors if isinstance(e, dict))
    workflows = list((await session.scalars(select(WorkflowAutomation).where(
        WorkflowAutomation.status == "active", WorkflowAutomation.trigger_type == "webhook",
        WorkflowAutomation.trigger_event.is_not(None)))).all())
    events = {(integration, kind): EventStats(count, last) for integration, kind, count, last in (
        await session.execute(
            select(WebhookEvent.integration_id, WebhookEvent.event_type, func.count(),
                   func.max(WebhookEvent.received_at))
            .where(WebhookEvent.received_at >= now - WINDOW + DAY,
                   WebhookEvent.received_at <= now)
            .group_by(WebhookEvent.integration_id, WebhookEvent.event_type))).all()}
    settings = await session.scalar(select(InsightSettings))
    return Snapshot(tenant_id=tenant_id, now=now, integrations=integrations, flows=flows,
                    runs=runs, last_good=last_good, usage=usage, rejections=rejections,
                    workflows=workflows, events=events,
                    auto_tune=bool(settings and settings.auto_tune_frequency))
