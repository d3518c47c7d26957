"""Health over the last days, one row a day: sync runs and how many failed, health logs
by severity, and API call errors, for a chart of how things went. Scores themselves are
worked out afresh and not kept per day, so the day's sync success rate stands for them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import cast, func, select
from sqlalchemy.types import Date

from jobs.sync.contracts import SUCCEEDED
from store.accounts import Caller
from store.models import ApiUsage, HealthLog, SyncRun
from tools.context import Services, ValidationFailed

MAX_DAYS = 31


class DayHealth(BaseModel):
    day: date
    syncs: int
    failed_syncs: int
    success_rate: float | None = Field(description="succeeded (or partial) runs of those "
                                       "that succeeded or failed; null on a day without")
    logs: dict[str, int] = Field(description="health logs written that day, by severity")
    api_errors: int = Field(description="provider calls that answered an error")


async def health_history(services: Services, caller: Caller, days: int = 7) -> list[DayHealth]:
    """The last ``days`` days (UTC), oldest first, today included."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"must be 1 to {MAX_DAYS}", field="days")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), UTC)
    run_day = cast(func.timezone("UTC", SyncRun.finished_at), Date)
    log_day = cast(func.timezone("UTC", HealthLog.created_at), Date)
    usage_day = cast(func.timezone("UTC", ApiUsage.hour), Date)
    async with services.db.session(caller.tenant_id) as session:
        runs = (await session.execute(
            select(run_day, SyncRun.status, func.count())
            .where(SyncRun.finished_at >= start).group_by(run_day, SyncRun.status))).all()
        logs = (await session.execute(
            select(log_day, HealthLog.severity, func.count())
            .where(HealthLog.created_at >= start).group_by(log_day, HealthLog.severity))).all()
        errors = (await session.execute(
            select(usage_day, func.sum(ApiUsage.errors))
            .where(ApiUsage.hour >= start).group_by(usage_day))).all()
    ok: dict[date, int] = {}
    failed: dict[date, int] = {}
    for day, status, count in runs:
        if status in SUCCEEDED:
            ok[day] = ok.get(day, 0) + count
        elif status == "failed":
            failed[day] = failed.get(day, 0) + count
    by_severity: dict[date, dict[str, int]] = {}
    for day, severity, count in logs:
        by_severity.setdefault(day, {})[severity] = count
    api_errors = {day: int(total or 0) for day, total in errors}
    history = []
    for n in range(days):
        day = first + timedelta(days=n)
        total = ok.get(day, 0) + failed.get(day, 0)
        history.append(DayHealth(
            day=day, syncs=total, failed_syncs=failed.get(day, 0),
            success_rate=round(ok.get(day, 0) / total, 4) if total else None,
            logs=by_severity.get(day, {}), api_errors=api_errors.get(day, 0)))
    return history
