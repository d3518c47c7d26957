"""Health over the last days, one row a day: the health score (the day's latest, averaged
over the integrations as the overall score is, and the day's lowest), sync runs and how
many failed, health logs by severity, and API call errors, for a chart of how things went.
The scores come from the health refresh's day rows (jobs/health/refresh.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import cast, func, select
from sqlalchemy.types import Date

from jobs.sync.contracts import SUCCEEDED
from store.accounts import Caller
from store.models import ApiUsage, DataFlow, HealthDay, HealthLog, SyncRun
from tools.context import Services, ValidationFailed

MAX_DAYS = 31


class DayHealth(BaseModel):
    day: date
    score: int | None = Field(description="the day's latest health score (the mean over the "
                              "integrations scored that day); null on a day without one")
    lowest: int | None = Field(description="the lowest score any of them had that day")
    syncs: int
    failed_syncs: int
    success_rate: float | None = Field(description="succeeded (or partial) runs of those "
                                       "that succeeded or failed; null on a day without")
    logs: dict[str, int] = Field(description="health logs written that day, by severity")
    api_errors: int = Field(description="provider calls that answered an error")


async def health_history(services: Services, caller: Caller, days: int = 7,
                         integration_id: uuid.UUID | None = None) -> list[DayHealth]:
    """The last ``days`` days (UTC), oldest first, today included; of one integration, or
    of them all."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"must be 1 to {MAX_DAYS}", field="days")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), UTC)
    run_day = cast(func.timezone("UTC", SyncRun.finished_at), Date)
    log_day = cast(func.timezone("UTC", HealthLog.created_at), Date)
    usage_day = cast(func.timezone("UTC", ApiUsage.hour), Date)
    runs_of = select(run_day, SyncRun.status, func.count()).where(SyncRun.finished_at >= start)
    logs_of = select(log_day, HealthLog.severity, func.count()).where(
        HealthLog.created_at >= start)
    errors_of = select(usage_day, func.sum(ApiUsage.errors)).where(ApiUsage.hour >= start)
    scores_of = select(HealthDay.day, func.avg(HealthDay.score), func.min(HealthDay.lowest)
                       ).where(HealthDay.day >= first)
    if integration_id is not None:
        runs_of = runs_of.join(DataFlow, DataFlow.id == SyncRun.data_flow_id).where(
            DataFlow.integration_id == integration_id)
        logs_of = logs_of.where(HealthLog.integration_id == integration_id)
        errors_of = errors_of.where(ApiUsage.integration_id == integration_id)
        scores_of = scores_of.where(HealthDay.integration_id == integration_id)
    async with services.db.session(caller.tenant_id) as session:
        runs = (await session.execute(runs_of.group_by(run_day, SyncRun.status))).all()
        logs = (await session.execute(logs_of.group_by(log_day, HealthLog.severity))).all()
        errors = (await session.execute(errors_of.group_by(usage_day))).all()
        scores = {day: (round(float(mean)), int(low)) for day, mean, low in (
            await session.execute(scores_of.group_by(HealthDay.day))).all()}
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
        score, lowest = scores.get(day, (None, None))
        history.append(DayHealth(
            day=day, score=score, lowest=lowest, syncs=total, failed_syncs=failed.get(day, 0),
            success_rate=round(ok.get(day, 0) / total, 4) if total else None,
            logs=by_severity.get(day, {}), api_errors=api_errors.get(day, 0)))
    return history
