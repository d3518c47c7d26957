"""Health logs: what went wrong (or nearly), how badly and in which area, and who
resolved it, when and how. Listed newest first, a page at a time, filtered by
integration, severity, category, time and whether resolved; resolving needs a member."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, tuple_

from jobs.health.refresh import refresh_health
from store.accounts import Caller
from store.errors import Conflict, NotFound, ValidationFailed
from store.models import HealthLog, Integration, Role, User
from store.models.base import utcnow
from store.models.monitoring import SEVERITIES
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.health_args import known_integration, moment

MAX_LOGS = 200
MAX_NOTE = 2000
Severity = Literal["info", "warning", "error", "critical"]


class HealthLogPublic(BaseModel):
    id: uuid.UUID
    integration_id: uuid.UUID | None
    integration: str | None = Field(description="the integration's name")
    severity: str
    category: str = Field(description="auth, rate_limited, provider_down, ...")
    message: str
    details: dict[str, Any]
    created_at: datetime
    resolved: bool
    resolution: str | None
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="the email of who resolved it")


class HealthLogPage(BaseModel):
    items: list[HealthLogPublic]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at "
                                    "the end")


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=MAX_NOTE, description="what was done about it")


def _public(row: HealthLog, integration: str | None, resolver: str | None) -> HealthLogPublic:
    return HealthLogPublic(
        id=row.id, integration_id=row.integration_id, integration=integration,
        severity=row.severity, category=row.category, message=row.message,
        details=row.details, created_at=row.created_at, resolved=row.resolved_at is not None,
        resolution=row.resolution, resolved_at=row.resolved_at, resolved_by=resolver)


def _listing() -> Any:
    return (select(HealthLog, Integration.name, User.email)
            .outerjoin(Integration, Integration.id == HealthLog.integration_id)
            .outerjoin(User, User.id == HealthLog.resolved_by))


async def health_logs(services: Services, caller: Caller,
                      integration: uuid.UUID | str | None = None,
                      severity: str | None = None, since: datetime | str | None = None, *,
                      until: datetime | str | None = None, category: str | None = None,
                      resolved: bool | None = None, cursor: str | None = None,
                      limit: int = 50) -> HealthLogPage:
    """The tenant's health logs, newest first; ``integration`` an integration id,
    ``severity`` one of info, warning, error, critical; ``since``/``until`` moments."""
    if severity is not None and severity not in SEVERITIES:
        raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}; got "
                               f"{severity[:40]!r}", field="severity")
    start, end = moment(since, "since"), moment(until, "until")
    if start and end and start > end:
        raise ValidationFailed("since is later than until", field="since")
    if not 1 <= limit <= MAX_LOGS:
        raise ValidationFailed(f"limit must be 1 to {MAX_LOGS}", field="limit")
    query = _listing().order_by(HealthLog.created_at.desc(), HealthLog.id.desc()) \
        .limit(limit + 1)
    if severity:
        query = query.where(HealthLog.severity == severity)
    if category:
        query = query.where(HealthLog.category == category)
    if start:
        query = query.where(HealthLog.created_at >= start)
    if end:
        query = query.where(HealthLog.created_at < end)
    if resolved is not None:
        query = query.where(HealthLog.resolved_at.is_not(None) if resolved
                            else HealthLog.resolved_at.is_(None))
    if cursor:
        query = query.where(
            tuple_(HealthLog.created_at, HealthLog.id) < tuple_(*paging.decode(cursor)))
    async with services.db.session(caller.tenant_id) as session:
        if (found := await known_integration(session, integration)) is not None:
            query = query.where(HealthLog.integration_id == found)
        rows = (await session.execute(query)).all()
    page = [_public(row, name, email) for row, name, email in rows[:limit]]
    return HealthLogPage(items=page, next_cursor=paging.next_cursor([r[0] for r in rows], limit))


async def resolve_health_log(services: Services, caller: Caller, log_id: uuid.UUID | str,
                             note: str) -> HealthLogPublic:
    """Mark a log resolved with what was done; the integration's score is worked out again
    (an open error costs points, a resolved one does not)."""
    require(caller, Role.member, "resolving a health log")
    try:
        log_key = log_id if isinstance(log_id, uuid.UUID) else uuid.UUID(str(log_id))
    except ValueError:
        raise ValidationFailed("log_id must be a health log id (a UUID)",
                               field="log_id") from None
    note = note.strip() if isinstance(note, str) else ""
    if not 1 <= len(note) <= MAX_NOTE:
        raise ValidationFailed(f"note must say what was done, in 1 to {MAX_NOTE} characters",
                               field="note")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await session.get(HealthLog, log_key, with_for_update=True)
        if row is None:
            raise NotFound(f"no health log {log_key}")
        if row.resolved_at is not None:
            raise Conflict(f"health log {log_key} was already resolved at "
                           f"{row.resolved_at:%Y-%m-%d %H:%M} UTC")
        row.resolution, row.resolved_at, row.resolved_by = note, utcnow(), caller.user_id
        audit(session, caller, "health_log.resolve", "health_log", row.id, note=note)
        integration_id = row.integration_id
    if integration_id is not None:
        await refresh_health(services.db, services.vault, caller.tenant_id, [integration_id])
    async with services.db.session(caller.tenant_id) as session:
        found = (await session.execute(_listing().where(HealthLog.id == log_key))).one()
    return _public(*found)
