"""Constructed histories for the insight detectors: a tenant with an integration and
flows, and rows of runs, usage, dead letters and deliveries placed in time around a fixed
``NOW``, then one tick of the insight jobs at any moment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from jobs.insights.jobs import TickResult, insights_for
from store.models import (
    ApiUsage,
    AuditLog,
    ConnectusInsight,
    DataFlow,
    DeadLetter,
    InsightSettings,
    Integration,
    IntegrationProvider,
    SyncRun,
    WebhookEvent,
    WorkflowAutomation,
)
from tests.conftest import make_tenant
from tools.context import Caller, Services

NOW = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class History:
    services: Services
    caller: Caller
    key: str
    integration: Integration
    flows: dict[str, DataFlow] = field(default_factory=dict)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.caller.tenant_id

    def ctx(self) -> dict[str, Any]:
        return {"db": self.services.db, "vault": self.services.vault,
                "redis": self.services.queue, "allow_private": False}

    async def tick(self, at: datetime = NOW) -> TickResult:
        return await insights_for(self.ctx(), self.tenant_id, at)

    async def add(self, *rows: Any) -> None:
        async with self.services.db.transaction(self.tenant_id) as session:
            session.add_all(rows)

    async def flow(self, name: str = "Contacts Sync", frequency: str = "hourly",
                   created: datetime = NOW - 8 * DAY, **extra: Any) -> DataFlow:
        row = DataFlow(integration_id=self.integration.id, name=name, direction="inbound",
                       stream="contacts", sync_frequency=frequency, created_at=created,
                       updated_at=created, **extra)
        await self.add(row)
        self.flows[name] = row
        return row

    async def runs(self, flow: DataFlow, times: list[datetime], status: str = "succeeded",
                   **counts: Any) -> None:
        await self.add(*(SyncRun(data_flow_id=flow.id, status=status, trigger="schedule",
                                 started_at=at - timedelta(minutes=1), finished_at=at,
                                 error="HubSpot said 401: expired token" if status == "failed"
                                 else None, **counts) for at in times))

    async def usage(self, hours: dict[datetime, tuple[int, int]]) -> None:
        await self.add(*(ApiUsage(integration_id=self.integration.id, hour=hour, calls=calls,
                                  errors=errors) for hour, (calls, errors) in hours.items()))

    async def dead_letters(self, flow: DataFlow, errors: list[dict[str, Any]],
                           at: datetime = NOW - HOUR) -> None:
        await self.add(*(DeadLetter(data_flow_id=flow.id, external_id=f"r{n}", errors=[error],
                                    created_at=at) for n, error in enumerate(errors)))

    async def workflow(self, event: str = "contact.creation") -> WorkflowAutomation:
        row = WorkflowAutomation(integration_id=self.integration.id, name="New Lead Alert",
                                 trigger_type="webhook", trigger_config={"event": event},
                                 trigger_event=event, actions=[], status="active")
        await self.add(row)
        return row

    async def deliveries(self, times: list[datetime], event: str = "contact.creation") -> None:
        await self.add(*(WebhookEvent(integration_id=self.integration.id,
                                      provider_event_id=uuid.uuid4().hex, event_type=event,
                                      received_at=at) for at in times))

    async def settings(self, **values: Any) -> None:
        await self.add(InsightSettings(**values))

    async def insights(self, detector: str | None = None) -> list[ConnectusInsight]:
        async with self.services.db.session(self.tenant_id) as session:
            query = select(ConnectusInsight).order_by(ConnectusInsight.created_at)
            if detector:
                query = query.where(ConnectusInsight.detector == detector)
            return list((await session.scalars(query)).all())

    async def only(self, detector: str) -> ConnectusInsight:
        found = await self.insights(detector)
        assert len(found) == 1, [(i.detector, i.title) for i in found]
        return found[0]

    async def audit(self) -> list[AuditLog]:
        async with self.services.db.session(self.tenant_id) as session:
            return list((await session.scalars(select(AuditLog))).all())

    async def reload(self, flow: DataFlow) -> DataFlow:
        async with self.services.db.session(self.tenant_id) as session:
            found = await session.get(DataFlow, flow.id)
        assert found is not None
        return found


async def make_history(services: Services, slug: str = "acme", provider: str = "hubspot",
                       credentials: dict[str, Any] | None = None,
                       **integration: Any) -> History:
    caller, key = await make_tenant(services, slug)
    async with services.db.transaction(caller.tenant_id) as session:
        found = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == provider))
        assert found is not None
        row = Integration(provider_id=found.id, name=provider, status="active",
                          auth_credentials=services.vault.encrypt(
                              credentials or {"access_token": "secret-token"}),
                          **integration)
        session.add(row)
    return History(services, caller, key, row)


def hourly(start: datetime, end: datetime, step: timedelta = HOUR) -> list[datetime]:
    """Moments from ``start`` up to (not including) ``end``."""
    out, at = [], start
    while at < end:
        out.append(at)
        at += step
    return out
