"""The health summary: one overall score, how many integrations are healthy, in warning
or critical (and in each connection status), API usage against limits, and the top open
problems with the reasons behind them. Scores are worked out afresh for the answer
(nothing is written), so the summary is never older than the question."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from jobs.health.inputs import gather
from jobs.health.score import score, status_of
from store.accounts import Caller
from store.models import HealthLog
from tools.context import Services

TOP_PROBLEMS = 5
NEAR_LIMIT = 0.8  # an integration past this share of its daily limit is named


class IntegrationHealth(BaseModel):
    integration_id: uuid.UUID
    integration: str
    provider: str
    status: str = Field(description="the connection status: active, error, ...")
    health_score: int
    health: str = Field(description="healthy (80+), warning (50-79) or critical")
    reasons: list[dict[str, object]] = Field(description="input, points lost, reason")


class Problem(BaseModel):
    integration_id: uuid.UUID
    integration: str
    input: str
    points: int
    reason: str


class UsageTotals(BaseModel):
    calls_today: int
    limit_today: int = Field(description="the sum of the daily limits that are known")
    headroom: int
    headroom_fraction: float | None
    near_limit: list[str] = Field(description=f"integrations past {NEAR_LIMIT:.0%} of "
                                  "their daily limit")


class HealthSummary(BaseModel):
    overall_score: int = Field(description="the mean score of the integrations in use")
    health: str
    integrations: int
    by_health: dict[str, int]
    by_status: dict[str, int]
    open_logs: dict[str, int] = Field(description="unresolved health logs by severity")
    api_usage: UsageTotals
    top_problems: list[Problem]
    scores: list[IntegrationHealth]
    checked_at: datetime


async def health_summary(services: Services, caller: Caller,
                         now: datetime | None = None) -> HealthSummary:
    now = now or datetime.now(UTC)
    async with services.db.session(caller.tenant_id) as session:
        inputs = await gather(session, services.vault, now)
        open_logs = {severity: count for severity, count in (await session.execute(
            select(HealthLog.severity, func.count()).where(HealthLog.resolved_at.is_(None))
            .group_by(HealthLog.severity))).all()}
    scores, problems = [], []
    for found in sorted(inputs.values(), key=lambda i: i.name):
        worked = score(found, now)
        scores.append(IntegrationHealth(
            integration_id=found.integration_id, integration=found.name,
            provider=found.provider, status=found.status, health_score=worked.score,
            health=worked.status, reasons=[r.as_dict() for r in worked.reasons]))
        problems += [Problem(integration_id=found.integration_id, integration=found.name,
                             input=r.input, points=r.points, reason=r.reason)
                     for r in worked.reasons]
    in_use = [s for s in scores if s.status != "inactive"] or scores
    overall = round(sum(s.health_score for s in in_use) / len(in_use)) if in_use else 100
    limited = [i for i in inputs.values() if i.limit]
    limit_total = sum(i.limit for i in limited)
    headroom = sum(max(0, i.limit - i.used_today) for i in limited)
    return HealthSummary(
        overall_score=overall, health=status_of(overall), integrations=len(scores),
        by_health={h: sum(s.health == h for s in scores)
                   for h in ("healthy", "warning", "critical")},
        by_status=dict(Counter(s.status for s in scores)),
        open_logs=open_logs,
        api_usage=UsageTotals(
            calls_today=sum(i.used_today for i in inputs.values()), limit_today=limit_total,
            headroom=headroom,
            headroom_fraction=round(headroom / limit_total, 4) if limit_total else None,
            near_limit=sorted(i.name for i in limited
                              if i.used_today >= NEAR_LIMIT * i.limit)),
        top_problems=sorted(problems, key=lambda p: -p.points)[:TOP_PROBLEMS],
        scores=scores, checked_at=now)
