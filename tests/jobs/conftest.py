"""A HubSpot contacts flow against the simulator, and a way to run it as a worker would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.providers.hubspot import SPEC as HUBSPOT
from connectors.request import Request
from jobs.sync.jobs import run_data_flow
from store.models import DataFlow, Integration, IntegrationProvider, SyncedRecord, SyncRun
from tests.conftest import make_tenant
from tests.jobs.worker_processes import Workers, running_workers
from tests.queued_jobs import run_queued_jobs as run_queued_jobs  # where tests import it from
from tools.context import Caller, Services

CONTACT_FIELDS = ["email", "firstname", "lastname"]


@dataclass
class Flow:
    services: Services
    caller: Caller
    integration: Integration
    row: DataFlow
    key: str  # an owner's API key in the flow's tenant

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    def ctx(self, **extra: Any) -> dict[str, Any]:
        return {"db": self.services.db, "vault": self.services.vault,
                "redis": self.services.queue, "job_try": 1, **extra}

    async def run(self, run_id: uuid.UUID | None = None, **ctx: Any) -> dict[str, Any]:
        return await run_data_flow(self.ctx(**ctx), str(self.id),
                                   str(run_id) if run_id else None)

    async def records(self) -> dict[str, dict[str, Any]]:
        async with self.services.db.session(self.caller.tenant_id) as session:
            rows = (await session.scalars(select(SyncedRecord).where(
                SyncedRecord.data_flow_id == self.id))).all()
        return {r.external_id: r.data for r in rows}

    async def count(self) -> int:
        async with self.services.db.session(self.caller.tenant_id) as session:
            return int(await session.scalar(select(func.count()).select_from(SyncedRecord)
                                             .where(SyncedRecord.data_flow_id == self.id)) or 0)

    async def runs(self) -> list[SyncRun]:
        async with self.services.db.session(self.caller.tenant_id) as session:
            return list((await session.scalars(select(SyncRun).where(
                SyncRun.data_flow_id == self.id).order_by(SyncRun.started_at))).all())

    async def flow(self) -> DataFlow:
        async with self.services.db.session(self.caller.tenant_id) as session:
            found = await session.get(DataFlow, self.id)
        assert found is not None
        return found


async def make_flow(services: Services, sandbox_url: str, *, contacts: int,
                    mappings: list[dict[str, Any]] | None = None, sandbox: Any = None,
                    name: str = "Contacts Sync") -> Flow:
    if sandbox is not None:
        box = sandbox.sandboxes["hubspot"]
        box.counts_override = {"contacts": contacts}
        box.reset()
    caller, key = await make_tenant(services, f"t{uuid.uuid4().hex[:8]}")
    demo = HUBSPOT.sandbox_demo or {}
    async with services.db.transaction(caller.tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "hubspot"))
        assert provider is not None
        integration = Integration(provider_id=provider.id, name="hubspot", status="active",
                                  settings={"sandbox_url": sandbox_url},
                                  auth_credentials=services.vault.encrypt(
                                      dict(demo["credentials"])))
        session.add(integration)
        await session.flush()
        row = DataFlow(integration_id=integration.id, name=name, direction="inbound",
                       stream="contacts", source_fields=[] if mappings else CONTACT_FIELDS,
                       target_fields=[] if mappings else ["email", "firstName", "lastName"],
                       mappings=mappings or [], sync_frequency="hourly")
        session.add(row)
    return Flow(services, caller, integration, row, key)


@pytest.fixture
async def contacts_flow(services: Services, sandbox: Any) -> Flow:
    return await make_flow(services, sandbox.url, contacts=250, sandbox=sandbox)


@pytest.fixture
def two_workers(services: Services, secret_keys: list[str], tmp_path: Path) -> Iterator[Workers]:
    """Two `connectus worker` processes, started before the test body so that their start-up
    overlaps its setup; they wait on the empty queue until it enqueues."""
    with running_workers(services, secret_keys, tmp_path) as workers:
        yield workers


async def redirect(flow: Flow, **changes: Any) -> Flow:
    """The flow reconfigured through the tool a person uses (so every check applies)."""
    from tools.data_flows import DataFlowUpdate, update_data_flow

    await update_data_flow(flow.services, flow.caller, flow.id, DataFlowUpdate(**changes))
    return flow


def hubspot_batches(sandbox: Any, action: str | None = None) -> list[dict[str, Any]]:
    """The batch calls the HubSpot simulator answered: {"object", "action", "inputs"}."""
    return [b for b in sandbox.sandboxes["hubspot"].state.batches
            if action is None or b["action"] == action]


async def provider_contact(flow: Flow, contact_id: str) -> dict[str, Any]:
    """A contact as HubSpot holds it now."""
    from jobs.connecting import open_connector

    async with open_connector(flow.services.db, flow.services.vault, flow.services.queue,
                              flow.integration, "hubspot") as connector:
        _, body = await connector.client.send(Request(
            "GET", f"/crm/v3/objects/contacts/{contact_id}",
            {"properties": "email,firstname,lastname,company"}))
    properties: dict[str, Any] = body["properties"]
    return properties
