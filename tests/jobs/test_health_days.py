"""The health score over time: each refresh folds its score into the integration's row
for the day (the latest and the lowest), and the health history reads them back per day,
for the dashboard's chart, within one tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from jobs.health.refresh import refresh_health
from store.models import HealthDay, HealthLog, Integration
from tests.conftest import make_tenant
from tests.jobs.test_health_refresh import _integration
from tools.context import Services
from tools.health_history import health_history


async def _log(services: Services, tenant_id, integration_id) -> None:
    async with services.db.transaction(tenant_id) as session:
        session.add(HealthLog(integration_id=integration_id, severity="critical",
                              category="auth", message="token revoked"))


async def _resolve(services: Services, tenant_id) -> None:
    async with services.db.transaction(tenant_id) as session:
        await session.execute(update(HealthLog).values(resolved_at=datetime.now(UTC)))


async def test_each_day_keeps_its_latest_and_lowest_score_and_the_history_charts_them(
        services: Services) -> None:
    caller, _ = await make_tenant(services, "charted")
    other, _ = await make_tenant(services, "elsewhere")
    slack = await _integration(services, caller, "slack", {"access_token": "a"})
    await _integration(services, caller, "zapier", {"api_key": "b"})
    elsewhere = await _integration(services, other, "slack", {"access_token": "c"})
    await _log(services, other.tenant_id, elsewhere.id)  # 90 there, every day it is scored
    now = datetime.now(UTC)
    await _log(services, caller.tenant_id, slack.id)
    await refresh_health(services.db, services.vault, caller.tenant_id,
                         now=now - timedelta(days=2))  # slack 90, zapier 100
    await _resolve(services, caller.tenant_id)
    await refresh_health(services.db, services.vault, caller.tenant_id)  # both 100 today
    await _log(services, caller.tenant_id, slack.id)
    await refresh_health(services.db, services.vault, caller.tenant_id)  # slack 90 today
    await _resolve(services, caller.tenant_id)
    await refresh_health(services.db, services.vault, caller.tenant_id)  # slack 100 again
    # a refresh of an earlier moment that commits last does not become the day's latest
    await _log(services, caller.tenant_id, slack.id)
    # (the test's start: earlier than the refreshes above, and always today, where five
    # minutes ago would be yesterday just after midnight)
    await refresh_health(services.db, services.vault, caller.tenant_id, now=now)
    await refresh_health(services.db, services.vault, other.tenant_id)

    days = await health_history(services, caller, days=3)
    assert [d.day for d in days] == [(now - timedelta(days=n)).date() for n in (2, 1, 0)]
    assert (days[0].score, days[0].lowest) == (95, 90)  # the mean of 90 and 100
    assert (days[1].score, days[1].lowest) == (None, None)  # no refresh that day
    assert (days[2].score, days[2].lowest) == (100, 90)
    only_slack = await health_history(services, caller, days=3, integration_id=slack.id)
    assert [(d.score, d.lowest) for d in only_slack] == [(90, 90), (None, None), (100, 90)]
    async with services.db.session(other.tenant_id) as session:
        [theirs] = list(await session.scalars(select(HealthDay)))
    assert (theirs.integration_id, theirs.score) == (elsewhere.id, 90)


async def test_a_paused_integration_leaves_its_days_unscored(services: Services) -> None:
    caller, _ = await make_tenant(services, "paused")
    slack = await _integration(services, caller, "slack", {"access_token": "a"})
    zapier = await _integration(services, caller, "zapier", {"api_key": "b"})
    await _log(services, caller.tenant_id, slack.id)
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(update(Integration).where(Integration.id == slack.id)
                              .values(status="inactive"))
    scores = await refresh_health(services.db, services.vault, caller.tenant_id)
    assert scores[slack.id].score == 90  # still scored, as its card shows
    [today] = await health_history(services, caller, days=1)
    assert (today.score, today.lowest) == (100, 100)  # the day's mean leaves it out
    [slack_today] = await health_history(services, caller, days=1, integration_id=slack.id)
    assert slack_today.score is None
    assert zapier.id in scores
