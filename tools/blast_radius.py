"""How big a write is before it runs: records touched, provider calls, the share of the
quota left, and whether that is more than a member may confirm alone.

A sync's size is estimated from the flow's last run (an incremental sync reads what
changed since, so the last run is the best guide there is); calls are pages of the
stream's page size. The quota left is the integration's own daily limit when it has one
(``api_calls_limit``), else the provider's documented daily cap, less today's calls.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.registry import connector_spec
from store.models import AgentPolicy, DataFlow, Integration, Role
from store.queries import last_runs
from tools.agent_tool import Plan


@dataclass(frozen=True)
class Thresholds:
    admin_above_records: int = 10_000
    admin_above_quota_share: float = 0.5
    undo_window_s: int = 24 * 3600


async def thresholds(session: AsyncSession) -> Thresholds:
    """The tenant's own (agent_policies), or the defaults."""
    row = await session.scalar(select(AgentPolicy))
    if row is None:
        return Thresholds()
    return Thresholds(row.admin_above_records, row.admin_above_quota_share, row.undo_window_s)


def quota_left(integration: Integration, provider: str) -> int | None:
    """Calls left today, or None when neither the integration nor the provider caps them."""
    spec = connector_spec(provider)
    limit = integration.api_calls_limit or (spec.rate_limit.daily if spec else None)
    if not limit:
        return None
    return max(0, limit - integration.api_calls_today)


def page_size(provider: str, stream: str | None) -> int:
    spec = connector_spec(provider)
    for found in spec.streams if spec else ():
        if found.name == stream:
            return max(1, found.page_size)
    return 100


@dataclass(frozen=True)
class SyncEstimate:
    flow_id: uuid.UUID
    flow_name: str
    records: int | None  # None: the flow never ran, so its size is not known yet
    api_calls: int


async def estimate_syncs(session: AsyncSession, flows: list[DataFlow],
                         provider: str) -> list[SyncEstimate]:
    runs = await last_runs(session, flows)
    found = []
    for flow in flows:
        run = runs.get(flow.last_run_id) if flow.last_run_id else None
        records = run.records_read if run is not None else None
        pages = math.ceil(records / page_size(provider, flow.stream)) if records else 1
        found.append(SyncEstimate(flow.id, flow.name, records, max(1, pages)))
    return found


def weigh(plan: Plan, limits: Thresholds, left: int | None) -> Plan:
    """Fill in the quota share and raise the role needed when the write is big."""
    if left is not None and plan.api_calls:
        plan.quota_share = round(plan.api_calls / left, 4) if left else 1.0
    big = []
    if plan.records is not None and plan.records > limits.admin_above_records:
        big.append(f"{plan.records} records is more than {limits.admin_above_records}")
    if plan.quota_share is not None and plan.quota_share > limits.admin_above_quota_share:
        big.append(f"{plan.quota_share:.0%} of the quota left is more than "
                   f"{limits.admin_above_quota_share:.0%}")
    if big and not plan.needs_role.at_least(Role.admin):
        plan.needs_role = Role.admin
        plan.notes.append("an admin must confirm this: " + "; ".join(big))
    return plan
