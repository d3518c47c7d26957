"""Work the health scores out again and store them with their reasons: after each sync
(jobs/sync/jobs.py), after a provider call fails (jobs/connecting.py), and every few
minutes by cron, so the predictive inputs (a token nearing expiry, a quota running out,
webhooks gone quiet) move the score while nothing else happens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from arq.cron import CronJob
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from jobs.constants import HEALTH_EVERY_MIN
from jobs.health.inputs import gather
from jobs.health.score import Score, score
from store.crypto import SecretBox
from store.db import Database
from store.models import DataFlow, HealthDay, Integration

KEEP_DAYS = 90  # of score history; the chart shows at most a month


async def refresh_health(db: Database, vault: SecretBox, tenant_id: uuid.UUID,
                         only: list[uuid.UUID] | None = None,
                         now: datetime | None = None) -> dict[uuid.UUID, Score]:
    """Score the tenant's integrations (or ``only`` these) and store score, reasons and the
    day's usage (which also keeps ``api_calls_today`` true across midnight), and fold the
    score into the day's row of its history."""
    now = now or datetime.now(UTC)
    scores: dict[uuid.UUID, Score] = {}
    in_use: dict[uuid.UUID, Score] = {}
    async with db.transaction(tenant_id) as session:
        for integration_id, inputs in (await gather(session, vault, now, only)).items():
            found = scores[integration_id] = score(inputs, now)
            if inputs.status != "inactive":
                in_use[integration_id] = found
            await session.execute(
                update(Integration).where(Integration.id == integration_id)
                .values(health_score=found.score,
                        health_reasons=[r.as_dict() for r in found.reasons],
                        health_checked_at=now, api_calls_today=inputs.used_today))
        # a paused integration's day goes unscored, as the overall score leaves it out
        if in_use:
            await session.execute(_fold_into_day(tenant_id, in_use, now))
    return scores


def _fold_into_day(tenant_id: uuid.UUID, scores: dict[uuid.UUID, Score], now: datetime) -> Any:
    day = now.astimezone(UTC).date()
    rows = [{"id": uuid.uuid4(), "tenant_id": tenant_id, "integration_id": integration_id,
             "day": day, "score": found.score, "lowest": found.score, "updated_at": now}
            for integration_id, found in scores.items()]
    statement = insert(HealthDay).values(rows)
    newer = statement.excluded.updated_at >= HealthDay.updated_at
    # two refreshes may commit out of order (after a sync, and the cron): the later
    # moment's score is the day's latest, whichever lands last
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "integration_id", "day"],
        set_={"score": case((newer, statement.excluded.score), else_=HealthDay.score),
              "updated_at": func.greatest(HealthDay.updated_at, statement.excluded.updated_at),
              "lowest": func.least(HealthDay.lowest, statement.excluded.score)})


async def refresh_flow_health(db: Database, vault: SecretBox, tenant_id: uuid.UUID,
                              flow_id: uuid.UUID) -> None:
    async with db.transaction(tenant_id) as session:
        integration_id = await session.scalar(
            select(DataFlow.integration_id).where(DataFlow.id == flow_id))
    if integration_id is not None:
        await refresh_health(db, vault, tenant_id, [integration_id])


async def refresh_all_health(ctx: dict[str, Any]) -> int:
    """The cron: every tenant with integrations, one transaction each."""
    db: Database = ctx["db"]
    async with db.transaction(None) as session:
        tenants = list(await session.scalars(select(Integration.tenant_id).distinct()))
    today = datetime.now(UTC).date()
    for tenant_id in tenants:
        await refresh_health(db, ctx["vault"], tenant_id)
        async with db.transaction(tenant_id) as session:
            await session.execute(delete(HealthDay).where(
                HealthDay.day < today - timedelta(days=KEEP_DAYS)))
    return len(tenants)


CRON_JOBS: tuple[CronJob, ...] = (
    cron(refresh_all_health, minute=set(range(0, 60, HEALTH_EVERY_MIN)), second={40},
         unique=True, run_at_startup=True, timeout=300),
)
