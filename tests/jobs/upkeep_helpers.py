"""Helpers for the upkeep-run tests: deletion checks, reconciliations, replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select, update

from connectors.http import Attempts
from jobs.sync import upkeep_jobs
from store.models import HealthLog, SyncedRecord, SyncRun
from tests.jobs.conftest import Flow

QUICK = Attempts(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05)


async def synced(flow: Flow) -> dict[str, SyncedRecord]:
    """Every synced record of the flow, deleted or not, by external id."""
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        rows = (await session.scalars(select(SyncedRecord).where(
            SyncedRecord.data_flow_id == flow.id))).all()
    return {r.external_id: r for r in rows}


async def deleted(flow: Flow) -> set[str]:
    return {k for k, r in (await synced(flow)).items() if r.deleted_at is not None}


async def archive(sandbox_url: str, contact_id: str) -> None:
    """Delete a HubSpot contact through the simulator's API, as a person would."""
    async with httpx.AsyncClient() as client:
        response = await client.delete(
            f"{sandbox_url}/hubspot/crm/v3/objects/contacts/{contact_id}",
            headers={"Authorization": "Bearer sandbox"})
    assert response.status_code == 204, response.text


async def check(flow: Flow, **ctx: Any) -> dict[str, Any]:
    """The deletion check job, as a worker runs it."""
    return await upkeep_jobs.check_flow_deletions(flow.ctx(**ctx), str(flow.id))


async def reconcile(flow: Flow, **ctx: Any) -> dict[str, Any]:
    return await upkeep_jobs.reconcile_flow(flow.ctx(**ctx), str(flow.id))


async def run_row(flow: Flow, run_id: str | uuid.UUID) -> SyncRun:
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        found = await session.get(SyncRun, uuid.UUID(str(run_id)))
    assert found is not None
    return found


async def logs(flow: Flow, category: str) -> list[HealthLog]:
    async with flow.services.db.session(flow.caller.tenant_id) as session:
        return list((await session.scalars(select(HealthLog).where(
            HealthLog.category == category).order_by(HealthLog.created_at))).all())


async def age_runs(flow: Flow, started_at: datetime, **where: Any) -> None:
    """Move the flow's runs (those matching ``where``) back in time."""
    async with flow.services.db.transaction(flow.caller.tenant_id) as session:
        statement = update(SyncRun).where(SyncRun.data_flow_id == flow.id)
        for name, value in where.items():
            statement = statement.where(getattr(SyncRun, name) == value)
        await session.execute(statement.values(started_at=started_at, finished_at=started_at))


async def provider_flow(services: Any, sandbox_url: str, provider: str, stream: str,
                        source_fields: list[str], target_fields: list[str]) -> Flow:
    """A flow of another provider's stream, with its demo credential and settings."""
    from connectors.registry import connector_spec
    from store.models import DataFlow, Integration, IntegrationProvider
    from tests.conftest import make_tenant

    spec = connector_spec(provider)
    assert spec is not None
    demo = spec.sandbox_demo
    caller, key = await make_tenant(services, f"t{uuid.uuid4().hex[:8]}")
    async with services.db.transaction(caller.tenant_id) as session:
        row = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == provider))
        assert row is not None
        integration = Integration(provider_id=row.id, name=provider, status="active",
                                  settings={"sandbox_url": sandbox_url, **demo["settings"]},
                                  auth_credentials=services.vault.encrypt(
                                      dict(demo["credentials"])))
        session.add(integration)
        await session.flush()
        flow = DataFlow(integration_id=integration.id, name=f"{provider} {stream}",
                        direction="inbound", stream=stream, source_fields=source_fields,
                        target_fields=target_fields, mappings=[], sync_frequency="daily")
        session.add(flow)
    return Flow(services, caller, integration, flow, key)
