"""Sync contracts (issue 7 §7): what a healthy flow looks like, and the alarms when it is not.

A flow's ``contract`` (JSON, checked on save by ``check_contract``) may say::

    {"max_staleness": "6h",      # or seconds (21600): the longest a flow may go without
                                 # a successful sync; default twice its frequency
     "min_records": 1000,        # the volume a full read must reach
     "deletion_check": "daily",  # hourly | daily (default) | weekly | off (jobs/sync/deletions.py)
     "reconcile": "daily"}       # the same choices (jobs/sync/reconcile.py)

**The zero-run rule.** A sync that moves nothing is only suspicious when it should have
moved something. A *full* run (no delta cursor, or a stream without deltas) that read
zero records fails when the flow's baseline is many: the median ``records_read`` of its
last ``BASELINE_RUNS`` successful full runs is at least ``MANY``. A delta run that finds
no changes is a success: nothing changed. A run resumed from another run's checkpoint
(a re-run "from checkpoint") reads only what was left, so it is judged by neither volume
rule below on its own count.

**min_records.** A full run that read fewer records fails; a delta run (or a resumed
one) fails when the flow then holds fewer live (not deleted) records. Stating
``min_records`` replaces the zero-run rule for the flow: ``"min_records": 0`` says an
empty stream is fine.

A breach ends the run ``failed`` with the reason in ``error`` and a health-log entry
(category ``sync_contract``); the flow's cursor does not move.

**Staleness.** ``alert_stale_flows`` (a cron job) finds active flows whose last
successful sync is older than ``max_staleness`` (else twice their frequency; a realtime
or manual flow without a contract is never stale) and writes one health-log alert
(category ``sync_stale``) per stale episode, an episode being the time since that last
success: no new alert every tick, and a new episode (a success, then staleness again)
alerts again. A flow that syncs again has its alert resolved.
"""

from __future__ import annotations

import difflib
import re
import statistics
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.spec import Stream
from jobs.flow_schedule import EVERY, next_slot
from jobs.sync import runs
from store.db import Database
from store.errors import ValidationFailed
from store.models import DataFlow, HealthLog, SyncedRecord, SyncRun

CHECK_FREQUENCIES: dict[str, timedelta | None] = {**EVERY, "off": None}
KEYS = ("max_staleness", "min_records", "deletion_check", "reconcile")
BASELINE_RUNS = 5
MANY = 10  # a median full read at least this large makes a zero-record full read a failure
MIN_STALENESS_S = 60
MAX_STALENESS_S = 366 * 86_400
MAX_MIN_RECORDS = 10**12
SUCCEEDED = ("succeeded", "partial")
CONTRACT_CATEGORY = "sync_contract"
STALE_CATEGORY = "sync_stale"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"(?:\d{1,7}[smhdw])+")


@dataclass(frozen=True)
class Contract:
    """A stored contract read with its defaults."""

    max_staleness_s: int | None = None
    min_records: int | None = None
    deletion_check: str = "daily"
    reconcile: str = "daily"


def parse_duration(value: Any, field: str) -> int:
    """Seconds from 21600, "21600", "6h", "90m", "1h30m", "2d" or "1w"."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed('is a duration: seconds (21600) or text such as "6h", "90m", '
                               f'"1d12h" (got {type(value).__name__})', field=field)
    text = str(value).strip().lower()
    if text.isdigit() and len(text) <= 12:
        return int(text)
    if not _DURATION.fullmatch(text):
        raise ValidationFailed(f'{str(value)[:40]!r} is not a duration: give seconds (21600) '
                               'or a number with a unit s, m, h, d or w ("6h", "1h30m")',
                               field=field)
    return sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)([smhdw])", text))


def check_contract(contract: dict[str, Any]) -> dict[str, Any]:
    """The contract as stored: the given keys, each checked, with a precise error naming
    the key otherwise. Nothing is added: defaults are read by ``contract_of``."""
    unknown = sorted(set(contract) - set(KEYS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], KEYS, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValidationFailed(f"unknown key {unknown[0]!r}; {hint}(a contract has "
                               f"{', '.join(KEYS)})", field=f"contract.{unknown[0]}")
    stored: dict[str, Any] = {}
    if "max_staleness" in contract:
        value = contract["max_staleness"]
        seconds = parse_duration(value, "contract.max_staleness")
        if not MIN_STALENESS_S <= seconds <= MAX_STALENESS_S:
            raise ValidationFailed(f"must be between {MIN_STALENESS_S} seconds and 366 days "
                                   f"(got {seconds} seconds)", field="contract.max_staleness")
        stored["max_staleness"] = value.strip() if isinstance(value, str) else value
    if "min_records" in contract:
        value = contract["min_records"]
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 <= value <= MAX_MIN_RECORDS:
            raise ValidationFailed(f"must be a whole number from 0 to {MAX_MIN_RECORDS} "
                                   f"(got {str(value)[:40]!r})", field="contract.min_records")
        stored["min_records"] = value
    for key in ("deletion_check", "reconcile"):
        if key in contract:
            value = contract[key]
            if value not in CHECK_FREQUENCIES:
                raise ValidationFailed(f"must be one of {', '.join(CHECK_FREQUENCIES)} (got "
                                       f"{str(value)[:40]!r})", field=f"contract.{key}")
            stored[key] = value
    return stored


def contract_of(stored: dict[str, Any] | None) -> Contract:
    """A stored (already checked) contract with its defaults; a value that no longer
    parses is ignored rather than stopping the jobs that read it."""
    stored = stored or {}
    staleness = None
    if "max_staleness" in stored:
        try:
            staleness = parse_duration(stored["max_staleness"], "contract.max_staleness")
        except ValidationFailed:
            staleness = None
    minimum = stored.get("min_records")
    return Contract(
        max_staleness_s=staleness,
        min_records=minimum if isinstance(minimum, int) and not isinstance(minimum, bool)
        else None,
        deletion_check=stored.get("deletion_check", "daily")
        if stored.get("deletion_check") in CHECK_FREQUENCIES else "daily",
        reconcile=stored.get("reconcile", "daily")
        if stored.get("reconcile") in CHECK_FREQUENCIES else "daily")


# -- the run's verdict ---------------------------------------------------------------------


def is_full(run: SyncRun, stream: Stream) -> bool:
    """A read of the whole stream from its first page: no delta cursor (or a stream that
    has no deltas), and not resumed from another run's checkpoint."""
    if (run.summary or {}).get("resumed_from"):
        return False
    return not (run.cursor_before or {}).get("since") or stream.delta is None


def _full_runs() -> Any:
    """Successful full sync runs, as a filter (the delta test is by cursor alone here)."""
    return (SyncRun.status.in_(SUCCEEDED) & SyncRun.trigger.notin_(runs.UPKEEP)
            & ~SyncRun.summary.has_key("resumed_from"))


async def baseline(session: AsyncSession, flow_id: uuid.UUID, stream: Stream,
                   before: SyncRun) -> float | None:
    """The median ``records_read`` of the flow's last successful full runs before
    ``before``; None without any."""
    query = (select(SyncRun.records_read)
             .where(SyncRun.data_flow_id == flow_id, SyncRun.id != before.id, _full_runs(),
                    SyncRun.started_at <= before.started_at)
             .order_by(SyncRun.started_at.desc()).limit(BASELINE_RUNS))
    if stream.delta is not None:  # with deltas, a full run is one that had no cursor
        query = query.where(~SyncRun.cursor_before.has_key("since"))
    counts = list((await session.scalars(query)).all())
    return statistics.median(counts) if counts else None


async def breach(db: Database, run: SyncRun, flow: DataFlow, stream: Stream) -> str | None:
    """Why the finished run breaks the flow's contract, or None when it keeps it."""
    contract = contract_of(flow.contract)
    full = is_full(run, stream)
    if contract.min_records is not None:
        if full and run.records_read < contract.min_records:
            return (f"the run read {run.records_read} records; the flow's contract expects "
                    f"at least {contract.min_records} from a full read")
        if not full and contract.min_records:
            async with db.session(run.tenant_id) as session:
                live = int(await session.scalar(
                    select(func.count()).select_from(SyncedRecord).where(
                        SyncedRecord.data_flow_id == flow.id,
                        SyncedRecord.deleted_at.is_(None))) or 0)
            if live < contract.min_records:
                return (f"the flow holds {live} live records after this run; its contract "
                        f"expects at least {contract.min_records}")
        return None
    if not full or run.records_read:
        return None
    async with db.session(run.tenant_id) as session:
        usual = await baseline(session, flow.id, stream, run)
    if usual is not None and usual >= MANY:
        return (f"the run read no records at all, but the flow's last full reads had "
                f"{usual:g} (median): the provider answered an empty list. Check the "
                "integration's settings and permissions, then re-run; if the stream really "
                'is empty now, set the contract\'s "min_records" to 0')
    return None


async def fail(db: Database, run: SyncRun, owner: str, reason: str) -> SyncRun:
    """End the run failed for breaking its contract, with a health-log entry."""
    message = f"sync contract broken: {reason}"
    ended = await runs.finish(db, run, owner, status="failed", error=message,
                              summary={"failure": "contract", "code": "contract"})
    async with db.transaction(run.tenant_id) as session:
        flow = await session.get(DataFlow, run.data_flow_id)
        session.add(HealthLog(
            tenant_id=run.tenant_id, integration_id=flow.integration_id if flow else None,
            severity="error", category=CONTRACT_CATEGORY, message=message,
            details={"kind": "contract", "sync_run_id": str(run.id),
                     "data_flow_id": str(run.data_flow_id), "records_read": run.records_read,
                     "action": "Check the integration and the provider's data, then re-run "
                               "the sync (POST /integrations/sync-runs/{id}/rerun/)."}))
    return ended


# -- staleness ------------------------------------------------------------------------------


def staleness_limit(flow: DataFlow, since: datetime) -> timedelta | None:
    """How long after ``since`` (its last good run, or its creation) the flow is stale:
    its contract's max_staleness, else two of its own slots missed. A cron flow counts its
    next two fire times after ``since``, so a weekday cron is not stale over a weekend.
    None for a flow with no slots (manual)."""
    contract = contract_of(flow.contract)
    if contract.max_staleness_s is not None:
        return timedelta(seconds=contract.max_staleness_s)
    first = next_slot(flow.sync_frequency, flow.schedule or {}, since)
    second = next_slot(flow.sync_frequency, flow.schedule or {}, first) if first else None
    return second - since if second else None


def _episode(last_ok: datetime | None) -> str:
    return last_ok.astimezone(UTC).isoformat() if last_ok else "never"


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "",
             f"{minutes}m" if minutes and not days else ""]
    return "".join(parts) or f"{seconds}s"


async def alert_stale_flows(ctx: dict[str, Any]) -> int:
    """One health-log alert per stale episode of every active flow; resolves the alerts of
    flows that synced since. Across tenants: the job serves the installation. Returns
    how many alerts it wrote."""
    db: Database = ctx["db"]
    now = datetime.now(UTC)
    last_ok = (select(func.max(SyncRun.finished_at))
               .where(SyncRun.data_flow_id == DataFlow.id, SyncRun.status.in_(SUCCEEDED),
                      SyncRun.trigger.notin_(runs.UPKEEP))
               .correlate(DataFlow).scalar_subquery())
    async with db.transaction(None) as session:
        flows = (await session.execute(
            select(DataFlow, last_ok).where(DataFlow.status == "active"))).all()
        open_alerts = (await session.scalars(select(HealthLog).where(
            HealthLog.category == STALE_CATEGORY, HealthLog.resolved_at.is_(None)))).all()
        alerted = {(a.details.get("data_flow_id"), a.details.get("since")): a
                   for a in open_alerts}
        written = 0
        fresh_since = {str(flow.id): ok for flow, ok in flows}
        for alert in open_alerts:  # the flow synced since (or is gone, or paused): over
            flow_key = str(alert.details.get("data_flow_id"))
            if flow_key not in fresh_since or \
                    _episode(fresh_since[flow_key]) != alert.details.get("since"):
                alert.resolved_at = now
                alert.resolution = ("the flow synced again" if fresh_since.get(flow_key)
                                    else "the flow is no longer active")
        for flow, ok in flows:
            since = ok or flow.created_at
            limit = staleness_limit(flow, since)
            if limit is None:
                continue
            if now - since <= limit:
                continue
            episode = _episode(ok)
            if (str(flow.id), episode) in alerted:
                continue
            said = (f"last synced successfully {_ago(now - ok)} ago" if ok else
                    f"has never synced successfully in the {_ago(now - since)} since it was "
                    "created")
            session.add(HealthLog(
                tenant_id=flow.tenant_id, integration_id=flow.integration_id,
                severity="warning", category=STALE_CATEGORY,
                message=f"data flow {flow.name!r} is stale: it {said}; it may go at most "
                        f"{_ago(limit)} without one",
                details={"data_flow_id": str(flow.id), "since": episode,
                         "limit_s": int(limit.total_seconds()),
                         "action": "Look at the flow's last runs and the integration's "
                                   "health; sync it now once fixed."}))
            written += 1
    return written


async def stale_alerts(db: Database, tenant_id: uuid.UUID,
                       flow_id: uuid.UUID) -> list[HealthLog]:
    """The flow's stale alerts, newest first (for tests and the agent)."""
    async with db.session(tenant_id) as session:
        return list((await session.scalars(select(HealthLog).where(
            HealthLog.category == STALE_CATEGORY,
            HealthLog.details["data_flow_id"].astext == str(flow_id))
            .order_by(HealthLog.created_at.desc()))).all())


__all__ = ["Contract", "alert_stale_flows", "breach", "check_contract", "contract_of", "fail",
           "parse_duration", "stale_alerts", "staleness_limit"]
