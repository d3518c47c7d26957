"""A flow stopped by a configuration failure, and why.

A run that fails with a config error (the taxonomy's "a person must act": refused
credentials, a missing permission, a mapping naming a field the provider dropped)
would fail the same way on every slot, so the flow is set to ``error`` and taken off
the schedule (``next_run_at`` None). The run that did it is marked
(``summary.flow_status = "error"``) and its error is the flow's ``status_reason``.
Setting the status back to ``active`` (after the fix) puts the flow on its schedule
again. Transient and system failures leave the status alone: retrying is their cure,
or a fix to Connectus itself.

Only an active flow is stopped: a paused one stays as a person left it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.models import DataFlow, SyncRun

MARK = {"flow_status": "error"}


async def stop_flow(db: Database, run: SyncRun) -> bool:
    """Set the run's flow to 'error' after the run failed with a config error; False when
    the flow was not active (paused, already stopped, or gone)."""
    async with db.transaction(run.tenant_id) as session:
        stopped = await session.scalar(
            update(DataFlow).where(DataFlow.id == run.data_flow_id, DataFlow.status == "active")
            .values(status="error", next_run_at=None)
            .returning(DataFlow.id).execution_options(synchronize_session=False))
        if stopped is None:
            return False
        ended = await session.get(SyncRun, run.id, with_for_update=True,
                                  populate_existing=True)
        if ended is not None:
            ended.summary = {**ended.summary, **MARK}
    return True


async def status_reasons(session: AsyncSession,
                         flows: Sequence[DataFlow]) -> dict[uuid.UUID, str]:
    """Why each flow in 'error' is there: the error of the newest run that stopped it. A
    flow a person set to 'error' by hand has none."""
    stopped = [flow.id for flow in flows if flow.status == "error"]
    if not stopped:
        return {}
    # one marked run per stop, so few: oldest first, the newest of each flow wins
    rows = (await session.execute(
        select(SyncRun.data_flow_id, SyncRun.error)
        .where(SyncRun.data_flow_id.in_(stopped), SyncRun.summary.contains(MARK))
        .order_by(SyncRun.started_at))).all()
    return {flow_id: error or "a run failed with a configuration error"
            for flow_id, error in rows}
