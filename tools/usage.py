"""API usage per integration: by hour over the last day and by day over the last week,
against the provider's limits, with the headroom left in each window. Where the provider
charges per operation (Google Ads: each mutate operation) ``operations`` is what counts
against its quota; elsewhere it equals ``calls``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from connectors.registry import connector_spec
from store.accounts import Caller
from store.models import ApiUsage, Integration, IntegrationProvider
from tools.context import Services
from tools.health_args import known_integration

HOURS = 24
DAYS = 7


class UsageBucket(BaseModel):
    start: datetime
    calls: int
    operations: int
    errors: int
    rate_limited: int


class UsageWindow(BaseModel):
    window: str = Field(description="hour or day")
    limit: int | None = Field(description="the provider's limit for the window; null: none")
    used: int
    left: int | None
    left_fraction: float | None
    resets_at: datetime | None


class IntegrationUsage(BaseModel):
    integration_id: uuid.UUID
    integration: str
    provider: str
    api_calls_today: int
    api_calls_limit: int
    headroom: int | None = Field(description="what is left of today's limit")
    per_operation: bool = Field(description="the provider counts operations, not calls")
    provider_reported: dict[str, Any] = Field(
        description="the provider's own last count and limit from its usage headers")
    windows: list[UsageWindow]
    hourly: list[UsageBucket]
    daily: list[UsageBucket]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _window(window: str, limit: int | None, used: int, resets: datetime) -> UsageWindow:
    left = max(0, limit - used) if limit else None
    return UsageWindow(window=window, limit=limit or None, used=used, left=left,
                       left_fraction=round(left / limit, 4) if limit and left is not None
                       else None, resets_at=resets)


def _limits(provider: str, configured: int) -> tuple[int | None, int | None]:
    """(per hour, per day): the hour's from the provider's rolling window, scaled."""
    spec = connector_spec(provider)
    if spec is None:
        return None, configured or None
    rate = spec.rate_limit
    hourly = int(rate.requests * 3600 / rate.per_seconds) if rate.requests else None
    return hourly, configured or rate.daily


async def api_usage(services: Services, caller: Caller,
                    integration: uuid.UUID | str | None = None) -> list[IntegrationUsage]:
    """Usage of every integration of the tenant, or of one (an integration id)."""
    now = datetime.now(UTC)
    midnight = _hour(now).replace(hour=0)
    query = (select(Integration, IntegrationProvider.name)
             .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
             .order_by(Integration.name))
    # the week's days reach further back than the day's hours
    buckets = select(ApiUsage).where(ApiUsage.hour >= midnight - timedelta(days=DAYS - 1))
    async with services.db.session(caller.tenant_id) as session:
        if (found := await known_integration(session, integration)) is not None:
            query = query.where(Integration.id == found)
            buckets = buckets.where(ApiUsage.integration_id == found)
        rows = (await session.execute(query)).all()
        usage = list((await session.scalars(buckets.order_by(ApiUsage.hour))).all())
    by_integration: dict[uuid.UUID, list[ApiUsage]] = {}
    for bucket in usage:
        by_integration.setdefault(bucket.integration_id, []).append(bucket)
    return [_one(row, provider, by_integration.get(row.id, []), now) for row, provider in rows]


def _one(row: Integration, provider: str, buckets: list[ApiUsage],
         now: datetime) -> IntegrationUsage:
    hour, midnight = _hour(now), _hour(now).replace(hour=0)
    hourly = [_bucket(b.hour, [b]) for b in buckets if b.hour > hour - timedelta(hours=HOURS)]
    days: dict[datetime, list[ApiUsage]] = {}
    for bucket in buckets:
        days.setdefault(bucket.hour.replace(hour=0), []).append(bucket)
    daily = [_bucket(day, group) for day, group in sorted(days.items())]
    per_hour, per_day = _limits(provider, row.api_calls_limit)
    this_hour = sum(b.operations for b in buckets if b.hour == hour)
    spec = connector_spec(provider)
    windows = [_window("hour", per_hour, this_hour, hour + timedelta(hours=1)),
               _window("day", per_day, row.api_calls_today, midnight + timedelta(days=1))]
    return IntegrationUsage(
        integration_id=row.id, integration=row.name, provider=provider,
        api_calls_today=row.api_calls_today, api_calls_limit=per_day or 0,
        headroom=windows[1].left, per_operation=spec is not None and spec.cost is not None,
        provider_reported=row.usage_reported or {}, windows=windows, hourly=hourly,
        daily=daily)


def _bucket(start: datetime, group: list[ApiUsage]) -> UsageBucket:
    return UsageBucket(start=start, calls=sum(b.calls for b in group),
                       operations=sum(b.operations for b in group),
                       errors=sum(b.errors for b in group),
                       rate_limited=sum(b.rate_limited for b in group))


__all__ = ["IntegrationUsage", "api_usage"]
