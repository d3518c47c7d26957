"""Insights the jobs found (jobs/insights/): list and filter them, the recommendations to
act on, one insight, resolving it and marking it read; and the tenant's insight settings.

A contract the agent's registry uses: ``list_insights(services, caller, integration=None,
...filters)``, ``recommendations(services, caller, integration=None)``,
``resolve_insight(services, caller, insight)``, ``mark_read(services, caller, insight)``.
``integration`` is an id or a name; ``insight`` an id. Reads are a viewer's; resolving
and marking read change what the whole tenant sees, so they are a member's, and the
settings an admin's. Every write leaves an audit entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Caller
from store.errors import NotFound, ValidationFailed
from store.models import ConnectusInsight, InsightSettings, Integration, Role
from store.models.base import utcnow
from store.models.monitoring import INSIGHT_TYPES, PRIORITIES
from tools.audit import audit
from tools.context import Services, require
from tools.fields import PartialUpdate

MAX_PAGE = 200
Priority = Literal["low", "medium", "high", "critical"]
RANK = case({p: n for n, p in enumerate(reversed(PRIORITIES))},
            value=ConnectusInsight.priority, else_=len(PRIORITIES))

__all__ = ["InsightPage", "InsightPublic", "InsightSettingsPublic", "InsightSettingsUpdate",
           "InsightUpdate", "Recommendation", "get_insight", "get_insight_settings",
           "list_insights", "mark_read", "recommendations", "resolve_insight",
           "update_insight", "update_insight_settings"]


class InsightPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    integration: uuid.UUID | None = Field(validation_alias="integration_id")
    insight_type: str
    priority: str
    title: str
    description: str
    recommendation: str
    action_items: list[Any]
    is_read: bool
    is_resolved: bool
    detector: str = Field(description="which detector found it (docs/insights.md)")
    details: dict[str, Any] = Field(description="the detector's numbers")
    times_opened: int = Field(description="1, plus one each time the condition returned")
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None = Field(description='"condition" (it cleared) or "person"')
    notified_at: datetime | None = Field(description="when this opening warned in Slack")
    created_at: datetime


class InsightPage(BaseModel):
    items: list[InsightPublic]
    total: int
    limit: int
    offset: int


class Recommendation(BaseModel):
    insight: uuid.UUID
    integration: uuid.UUID | None
    integration_name: str | None
    priority: str
    insight_type: str
    title: str
    recommendation: str
    action_items: list[Any]


class InsightUpdate(PartialUpdate):
    is_read: StrictBool | MISSING = MISSING
    is_resolved: Literal[True] | MISSING = Field(MISSING, description=(
        "true resolves it (as POST .../resolve/); an insight reopens by itself when its "
        "condition returns"))


class InsightSettingsPublic(BaseModel):
    auto_tune_frequency: bool = Field(description="apply sync-frequency advice by itself")
    slack_warnings: bool = Field(description="warn the Slack channel of high-priority insights")


class InsightSettingsUpdate(PartialUpdate):
    auto_tune_frequency: StrictBool | MISSING = MISSING
    slack_warnings: StrictBool | MISSING = MISSING


def _public(row: ConnectusInsight) -> InsightPublic:
    return InsightPublic.model_validate(row)


async def _integration_id(session: AsyncSession, ref: uuid.UUID | str) -> uuid.UUID:
    if isinstance(ref, uuid.UUID):
        found = await session.get(Integration, ref)
    else:
        try:
            found = await session.get(Integration, uuid.UUID(ref))
        except ValueError:
            found = await session.scalar(select(Integration).where(Integration.name == ref))
    if found is None:
        raise NotFound(f"no integration {ref}")
    return found.id


def _check_choice(value: str | None, choices: tuple[str, ...], field: str) -> None:
    if value is not None and value not in choices:
        raise ValidationFailed(f"must be one of {', '.join(choices)}; got {value!r}",
                               field=field)


async def list_insights(services: Services, caller: Caller,
                        integration: uuid.UUID | str | None = None, *,
                        is_read: bool | None = None, is_resolved: bool | None = None,
                        priority: str | None = None, insight_type: str | None = None,
                        detector: str | None = None, limit: int = 50,
                        offset: int = 0) -> InsightPage:
    """Newest opening first; every filter optional."""
    _check_choice(priority, PRIORITIES, "priority")
    _check_choice(insight_type, INSIGHT_TYPES, "insight_type")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationFailed("may not be negative", field="offset")
    async with services.db.session(caller.tenant_id) as session:
        query = select(ConnectusInsight)
        if integration is not None:
            query = query.where(ConnectusInsight.integration_id
                                == await _integration_id(session, integration))
        for column, value in ((ConnectusInsight.is_read, is_read),
                              (ConnectusInsight.is_resolved, is_resolved),
                              (ConnectusInsight.priority, priority),
                              (ConnectusInsight.insight_type, insight_type),
                              (ConnectusInsight.detector, detector)):
            if value is not None:
                query = query.where(column == value)
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.scalars(
            query.order_by(ConnectusInsight.opened_at.desc(), ConnectusInsight.id)
            .limit(limit).offset(offset))).all()
    return InsightPage(items=[_public(r) for r in rows], total=int(total or 0), limit=limit,
                       offset=offset)


async def recommendations(services: Services, caller: Caller,
                          integration: uuid.UUID | str | None = None) -> list[Recommendation]:
    """What to do now: the open insights that say what to do, most urgent first."""
    async with services.db.session(caller.tenant_id) as session:
        query = (select(ConnectusInsight, Integration.name)
                 .outerjoin(Integration, Integration.id == ConnectusInsight.integration_id)
                 .where(ConnectusInsight.is_resolved.is_(False),
                        ConnectusInsight.recommendation != ""))
        if integration is not None:
            query = query.where(ConnectusInsight.integration_id
                                == await _integration_id(session, integration))
        rows = (await session.execute(
            query.order_by(RANK, ConnectusInsight.opened_at.desc()).limit(MAX_PAGE))).all()
    return [Recommendation(insight=row.id, integration=row.integration_id,
                           integration_name=name, priority=row.priority,
                           insight_type=row.insight_type, title=row.title,
                           recommendation=row.recommendation, action_items=row.action_items)
            for row, name in rows]


async def _load(session: AsyncSession, insight: uuid.UUID) -> ConnectusInsight:
    found = await session.get(ConnectusInsight, insight)
    if found is None:
        raise NotFound(f"no insight {insight}")
    return found


async def get_insight(services: Services, caller: Caller, insight: uuid.UUID) -> InsightPublic:
    async with services.db.session(caller.tenant_id) as session:
        return _public(await _load(session, insight))


def _resolve(session: AsyncSession, caller: Caller, row: ConnectusInsight) -> None:
    if row.is_resolved:
        return
    row.is_resolved, row.resolved_at, row.resolved_by = True, utcnow(), "person"
    # the detectors leave it resolved while this same condition lasts (jobs/insights/lifecycle)
    row.details = {**row.details, "held_by_person": True}
    audit(session, caller, "insight.resolved", "insight", row.id, title=row.title)


def _read(session: AsyncSession, caller: Caller, row: ConnectusInsight, is_read: bool) -> None:
    if row.is_read != is_read:
        row.is_read = is_read
        audit(session, caller, "insight.read" if is_read else "insight.unread", "insight",
              row.id)


async def resolve_insight(services: Services, caller: Caller,
                          insight: uuid.UUID) -> InsightPublic:
    """Resolved by a person; it reopens when its condition clears and later returns."""
    require(caller, Role.member, "resolving an insight")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, insight)
        _resolve(session, caller, row)
        await session.flush()
        return _public(row)


async def mark_read(services: Services, caller: Caller, insight: uuid.UUID,
                    is_read: bool = True) -> InsightPublic:
    require(caller, Role.member, "marking an insight read")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, insight)
        _read(session, caller, row, is_read)
        await session.flush()
        return _public(row)


async def update_insight(services: Services, caller: Caller, insight: uuid.UUID,
                         body: InsightUpdate) -> InsightPublic:
    """PATCH: ``is_read`` either way, ``is_resolved: true``; in one transaction."""
    require(caller, Role.member, "changing an insight")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await _load(session, insight)
        if body.is_read is not MISSING:
            _read(session, caller, row, body.is_read)
        if body.is_resolved is not MISSING:
            _resolve(session, caller, row)
        await session.flush()
        return _public(row)


async def get_insight_settings(services: Services, caller: Caller) -> InsightSettingsPublic:
    async with services.db.session(caller.tenant_id) as session:
        row = await session.scalar(select(InsightSettings))
    if row is None:
        return InsightSettingsPublic(auto_tune_frequency=False, slack_warnings=True)
    return InsightSettingsPublic(auto_tune_frequency=row.auto_tune_frequency,
                                 slack_warnings=row.slack_warnings)


async def update_insight_settings(services: Services, caller: Caller,
                                  body: InsightSettingsUpdate) -> InsightSettingsPublic:
    require(caller, Role.admin, "changing insight settings")
    changes = body.model_dump(exclude_unset=True)
    async with services.db.transaction(caller.tenant_id) as session:
        # two first saves at once: one row, the second waits for it and updates it
        await session.execute(insert(InsightSettings).values(
            id=uuid.uuid4(), tenant_id=caller.tenant_id, auto_tune_frequency=False,
            slack_warnings=True, updated_at=utcnow()).on_conflict_do_nothing(
            index_elements=["tenant_id"]))
        row = await session.scalar(select(InsightSettings).with_for_update()
                                   .execution_options(populate_existing=True))
        assert row is not None
        for name, value in changes.items():
            setattr(row, name, value)
        audit(session, caller, "insight_settings.updated", "insight_settings",
              caller.tenant_id, **changes)
        await session.flush()
        return InsightSettingsPublic(auto_tune_frequency=row.auto_tune_frequency,
                                     slack_warnings=row.slack_warnings)
