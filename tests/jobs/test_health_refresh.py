"""Health scores worked out from a stored history and kept on the integration with their
reasons: after a sync, after a provider error, by the cron, and within one tenant."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from connectors.http import Attempts
from jobs.health.refresh import refresh_all_health, refresh_health
from store.models import ApiUsage, HealthLog, Integration, IntegrationProvider
from tests.conftest import make_tenant
from tests.jobs.conftest import Flow
from tools.context import Caller, Services

QUICK = Attempts(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05)


async def _integration(services: Services, caller: Caller, provider: str,
                       credentials: dict[str, Any], **columns: Any) -> Integration:
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == provider))
        row = Integration(provider_id=found.id, name=provider, status="active", settings={},
                          auth_credentials=services.vault.encrypt(credentials), **columns)
        session.add(row)
    return row


async def _stored(services: Services, caller: Caller, integration_id: uuid.UUID) -> Integration:
    async with services.db.session(caller.tenant_id) as session:
        found = await session.get(Integration, integration_id)
    assert found is not None
    return found


async def test_a_failing_sync_lowers_the_stored_score_and_says_why(contacts_flow: Flow) -> None:
    flow, services = contacts_flow, contacts_flow.services
    await flow.run(sync_attempts=QUICK)
    healthy = await _stored(services, flow.caller, flow.integration.id)
    assert healthy.health_score == 100 and healthy.health_checked_at is not None
    async with services.db.transaction(flow.caller.tenant_id) as session:
        await session.execute(update(Integration).values(
            auth_credentials=services.vault.encrypt({"access_token": "revoked"})))
    assert (await flow.run(sync_attempts=QUICK))["status"] == "failed"
    broken = await _stored(services, flow.caller, flow.integration.id)
    inputs = {r["input"]: r for r in broken.health_reasons}
    assert broken.health_score < 50
    assert {"connection", "syncs", "errors"} <= set(inputs)
    assert "1 of 2 syncs in the last 24 h failed" in inputs["syncs"]["reason"]
    assert broken.health_score == 100 - sum(r["points"] for r in broken.health_reasons)


async def test_a_token_nearing_expiry_costs_points_while_calls_still_work(
        services: Services) -> None:
    caller, _ = await make_tenant(services, "ads")
    in_two_days = int(time.time()) + 2 * 86_400
    row = await _integration(services, caller, "facebook_ads",
                             {"access_token": "long-lived", "expires_at": in_two_days})
    scores = await refresh_health(services.db, services.vault, caller.tenant_id)
    assert scores[row.id].score == 85
    stored = await _stored(services, caller, row.id)
    [reason] = stored.health_reasons
    assert reason["input"] == "connection" and "cannot be renewed" in reason["reason"]
    assert "long-lived" not in str(stored.health_reasons)  # the token itself is never told


async def test_a_pace_that_will_exhaust_the_quota_is_read_from_usage_rows(
        services: Services) -> None:
    caller, _ = await make_tenant(services, "busy")
    row = await _integration(services, caller, "google_ads", {"access_token": "x"})
    now = datetime.now(UTC).replace(hour=10, minute=30, second=0, microsecond=0)
    async with services.db.transaction(caller.tenant_id) as session:
        for hours_ago, operations in ((2, 1_500), (1, 1_500), (0, 600)):  # 1,440 an hour
            session.add(ApiUsage(integration_id=row.id, hour=now.replace(minute=0)
                                 - timedelta(hours=hours_ago), calls=operations,
                                 operations=operations))
    scores = await refresh_health(services.db, services.vault, caller.tenant_id, now=now)
    [reason] = scores[row.id].reasons
    assert reason.input == "quota" and reason.points == 15
    assert "15,000" in reason.reason and "3,600 used" in reason.reason
    stored = await _stored(services, caller, row.id)
    assert stored.api_calls_today == 3_600  # kept true by the refresh, not only by calls


async def test_resolving_what_was_logged_gives_the_points_back(services: Services) -> None:
    caller, _ = await make_tenant(services, "logs")
    row = await _integration(services, caller, "slack", {"access_token": "xoxb"})
    async with services.db.transaction(caller.tenant_id) as session:
        session.add(HealthLog(integration_id=row.id, severity="critical", category="auth",
                              message="token revoked"))
    before = (await refresh_health(services.db, services.vault, caller.tenant_id))[row.id]
    assert before.score == 90 and "token revoked" in before.reasons[0].reason
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(update(HealthLog).values(resolved_at=datetime.now(UTC)))
    after = (await refresh_health(services.db, services.vault, caller.tenant_id))[row.id]
    assert after.score == 100


async def test_the_cron_scores_every_tenant_each_on_its_own_history(services: Services) -> None:
    calm, _ = await make_tenant(services, "calm")
    noisy, _ = await make_tenant(services, "noisy")
    quiet_row = await _integration(services, calm, "slack", {"access_token": "a"})
    noisy_row = await _integration(services, noisy, "slack", {"access_token": "b"})
    async with services.db.transaction(noisy.tenant_id) as session:
        for _ in range(3):
            session.add(HealthLog(integration_id=noisy_row.id, severity="error",
                                  category="provider_down", message="Slack answered 503"))
    done = await refresh_all_health({"db": services.db, "vault": services.vault})
    assert done == 2
    assert (await _stored(services, calm, quiet_row.id)).health_score == 100
    assert (await _stored(services, noisy, noisy_row.id)).health_score == 88
