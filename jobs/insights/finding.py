"""What a detector sees (a tenant's recent history, read once per tick) and what it says."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from store.models import DataFlow, SyncRun, WorkflowAutomation

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WINDOW = timedelta(days=8)  # how far back a tick reads: a week of baseline and a day
FAILED = "failed"
GOOD = ("succeeded", "partial")


@dataclass(frozen=True)
class Finding:
    """One condition that holds now. ``subject`` names what it is about (a flow, an
    integration), so the same condition keeps its fingerprint from tick to tick.
    ``settled``: nothing is left to do (a frequency change applied by itself), so it is
    stored resolved."""

    detector: str
    subject: str
    insight_type: str
    priority: str
    title: str
    description: str
    recommendation: str = ""
    action_items: tuple[str, ...] = ()
    integration_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)
    settled: bool = False

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.detector}:{self.subject}".encode()).hexdigest()


@dataclass(frozen=True)
class IntegrationView:
    """An integration as the detectors need it; of its credentials only when the token
    expires and whether it can renew itself, never the secrets."""

    id: uuid.UUID
    name: str
    provider: str
    status: str
    daily_limit: int | None
    token_expires_at: float | None
    renews_itself: bool
    oauth: bool
    last_error: str | None = None


@dataclass(frozen=True)
class EventStats:
    count: int  # deliveries in the baseline week
    last_at: datetime


@dataclass
class Snapshot:
    tenant_id: uuid.UUID
    now: datetime
    integrations: dict[uuid.UUID, IntegrationView]
    flows: list[DataFlow]
    runs: dict[uuid.UUID, list[SyncRun]]  # finished runs per flow, oldest first
    last_good: dict[uuid.UUID, datetime]  # each flow's last successful finish, ever
    usage: dict[uuid.UUID, dict[datetime, tuple[int, int]]]  # hour -> (calls, errors)
    rejections: dict[uuid.UUID, list[dict[str, Any]]]  # dead-letter errors, last day
    workflows: list[WorkflowAutomation]
    events: dict[tuple[uuid.UUID, str], EventStats]
    auto_tune: bool = False

    @property
    def hour(self) -> datetime:
        return self.now.replace(minute=0, second=0, microsecond=0)

    def runs_since(self, flow_id: uuid.UUID, since: datetime) -> list[SyncRun]:
        return [r for r in self.runs.get(flow_id, []) if r.finished_at and r.finished_at >= since]

    def integration(self, flow: DataFlow) -> IntegrationView | None:
        return self.integrations.get(flow.integration_id)
