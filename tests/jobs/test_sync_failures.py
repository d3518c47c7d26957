"""Failures by the taxonomy: a transient one asks arq for a retry and hands the run to
it; out of tries, or a config error, fails the run with what a person must do."""

from __future__ import annotations

from typing import Any

import pytest
from arq import Retry
from sqlalchemy import select, update

from connectors.http import Attempts
from connectors.sandbox.kit import Faults
from jobs.constants import SYNC_MAX_TRIES
from store.models import HealthLog, Integration
from tests.jobs.conftest import Flow

QUICK = Attempts(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05)


async def _logs(flow: Flow) -> list[HealthLog]:
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        return list((await session.scalars(
            select(HealthLog).where(HealthLog.category.like("sync_%")))).all())


async def test_a_provider_outage_retries_and_the_last_try_fails(contacts_flow: Flow,
                                                                sandbox: Any) -> None:
    sandbox.sandboxes["hubspot"].set_faults(Faults(rate_5xx=1.0))
    with pytest.raises(Retry) as retry:
        await contacts_flow.run(sync_attempts=QUICK)
    assert retry.value.defer_score and retry.value.defer_score > 0
    [run] = await contacts_flow.runs()
    assert run.status == "running" and run.lease_owner is None  # free for the retry
    [log] = await _logs(contacts_flow)
    assert log.severity == "warning" and log.details["kind"] == "transient"

    result = await contacts_flow.run(run.id, sync_attempts=QUICK, job_try=SYNC_MAX_TRIES)
    assert result["status"] == "failed"
    [run] = await contacts_flow.runs()
    assert run.status == "failed" and run.finished_at is not None
    assert run.error and run.summary["failure"] == "transient"


async def test_a_config_error_fails_the_run_with_the_persons_action(contacts_flow: Flow,
                                                                   sandbox: Any) -> None:
    services = contacts_flow.services
    async with services.db.transaction(contacts_flow.caller.tenant_id) as session:
        await session.execute(update(Integration).values(
            auth_credentials=services.vault.encrypt({"access_token": "revoked"})))
    result = await contacts_flow.run(sync_attempts=QUICK)
    assert result["status"] == "failed"
    [run] = await contacts_flow.runs()
    assert run.status == "failed" and run.summary["failure"] == "config"
    assert "reconnect" in (run.error or "").lower()
    assert any(log.details["kind"] == "config" and log.severity == "error"
               for log in await _logs(contacts_flow))
    assert (await contacts_flow.flow()).last_run_id == run.id
    async with services.db.session(contacts_flow.caller.tenant_id) as session:
        integration = await session.scalar(select(Integration))
    assert integration is not None and integration.status == "reconnect_needed"
