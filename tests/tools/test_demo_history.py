"""The demo tenant's history: seeded twice it is the same history, not twice as much,
and the scores it gives differ between integrations for reasons a person can read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from store.models import ApiUsage, HealthLog, Integration, SyncRun, WebhookEvent
from tools.context import Caller, Services
from tools.demo import seed_demo, seed_sandbox_integrations
from tools.demo_history import seed_demo_history
from tools.health_history import health_history
from tools.health_summary import health_summary

NOW = datetime.now(UTC).replace(hour=10, minute=30, second=0, microsecond=0)


async def _counts(services: Services, tenant_id) -> dict[str, int]:
    async with services.db.session(tenant_id) as session:
        return {model.__tablename__: int(await session.scalar(
            select(func.count()).select_from(model)) or 0)
            for model in (SyncRun, HealthLog, ApiUsage, WebhookEvent)}


async def test_seeding_twice_gives_the_same_history(services: Services) -> None:
    demo = await seed_demo(services, "cx_demo_fixed_key_for_tests")
    await seed_sandbox_integrations(services, demo, "http://127.0.0.1:8129")
    first = await seed_demo_history(services, demo.tenant.id, demo.owner.id, now=NOW)
    counted = await _counts(services, demo.tenant.id)
    assert first["sync_runs"] == counted["sync_runs"] > 30
    assert counted["api_usage"] == 7 * (7 * 24 + 1)
    again = await seed_demo_history(services, demo.tenant.id, demo.owner.id, now=NOW)
    assert again == first and await _counts(services, demo.tenant.id) == counted


async def test_the_demo_scores_differ_and_say_why(services: Services) -> None:
    demo = await seed_demo(services, "cx_demo_fixed_key_for_tests")
    await seed_sandbox_integrations(services, demo, "http://127.0.0.1:8129")
    await seed_demo_history(services, demo.tenant.id, demo.owner.id, now=NOW)
    async with services.db.session(demo.tenant.id) as session:
        rows = {row.name.split(" (")[0]: row for row in await session.scalars(select(Integration))}
    scores = {name: row.health_score for name, row in rows.items()}
    reasons = {name: {r["input"] for r in row.health_reasons} for name, row in rows.items()}
    assert scores["HubSpot"] == 100 and reasons["HubSpot"] == set()
    assert min(scores, key=scores.__getitem__) == "Salesforce" and scores["Salesforce"] < 80
    assert {"quota", "syncs", "errors"} <= reasons["Salesforce"]
    assert "connection" in reasons["Facebook Ads"]
    assert "staleness" in reasons["Mailchimp"]
    assert "webhooks" in reasons["Zapier"]
    assert len(set(scores.values())) >= 4
    caller = Caller(tenant_id=demo.tenant.id, user_id=demo.owner.id, role=demo.owner.role)
    # the seeding's clock, not the wall's: a run that crosses midnight would see a new day
    summary = await health_summary(services, caller, now=NOW)
    assert summary.api_usage.near_limit == ["Salesforce (sandbox)"]
    async with services.db.session(demo.tenant.id) as session:
        resolved = (await session.scalars(select(HealthLog).where(
            HealthLog.resolved_at.is_not(None)))).all()
    assert resolved and all(r.resolved_by == demo.owner.id and r.resolution for r in resolved)


async def test_the_demo_has_a_score_for_every_day_of_its_week(services: Services) -> None:
    demo = await seed_demo(services, "cx_demo_fixed_key_for_tests")
    await seed_sandbox_integrations(services, demo, "http://127.0.0.1:8129")
    today = datetime.now(UTC).replace(second=0, microsecond=0)
    await seed_demo_history(services, demo.tenant.id, demo.owner.id, now=today)
    caller = Caller(tenant_id=demo.tenant.id, user_id=demo.owner.id, role=demo.owner.role)
    days = await health_history(services, caller, days=7)
    assert all(d.score is not None for d in days)
    async with services.db.session(demo.tenant.id) as session:
        facebook = await session.scalar(select(Integration.id).where(
            Integration.name.like("Facebook%")))
    facebook_days = await health_history(services, caller, days=7, integration_id=facebook)
    # its token ends two days from now: the nearer the end, the lower the score
    scores = [d.score for d in facebook_days]
    assert scores[0] is not None and scores[-1] is not None and scores[-1] < scores[0]
    assert scores == sorted(scores, reverse=True)
