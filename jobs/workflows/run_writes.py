"""The hot writes of a run's life, coalesced across the runs a worker has under way.

A worker runs many runs at once, and each claims its row, saves its steps and ends once
or more. Those writes go through one ``Coalescer`` each per database (jobs/batching.py):
the runs that claim, save or end in the same moment share one statement per tenant, with
the very conditions the single-run statements had (the lease owner, the status), checked
per row. So a run that lost its lease still finds out at its next write, and a run ends
once and counts once: the counters rise by each workflow's number of runs ended in the
same transaction as their rows.

The claim, the saves and the ends are one statement each, a transaction by itself, on the
process's direct connections (store/direct.py): one round trip, where a session's
checkout, BEGIN and COMMIT made four. They are not ORM statements, so the tenant guard
(store/db.py) does not see them: each binds ``tenant_id`` itself, from the run rows the
claim loaded.
"""

from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from sqlalchemy import select

from jobs.batching import Coalescer
from store.db import Database
from store.direct import columns, json_text, uuid_array
from store.models import Integration, IntegrationProvider, WorkflowAutomation, WorkflowRun
from store.models.base import utcnow

MAX_BATCH = 100
RUN_COLUMNS = columns(WorkflowRun, "r")
# the ids go as one uuid[] (its text made here: no element needs escaping), so the planner
# knows how many rows a statement touches; what each row writes goes as one JSON object
# keyed by run id, read per id with jsonb_to_record: one parameter dumped by orjson in one
# call, where an array per column was dumped element by element in Python
CLAIM = (
    "UPDATE workflow_runs AS r SET status = 'running', lease_owner = %(owner)s, "  # noqa: S608
    "lease_expires_at = %(until)s "
    "WHERE r.id = ANY(%(ids)s::uuid[]) AND (r.status = 'queued' OR (r.status = 'running' "
    "AND (r.lease_expires_at IS NULL OR r.lease_expires_at < %(now)s))) "
    f"RETURNING {RUN_COLUMNS}")
SAVE = (
    "UPDATE workflow_runs AS r SET steps = v.steps, "
    "context = COALESCE(v.context, r.context), "
    # the lease (an indexed column) left alone while it has time left, so the save can be
    # a HOT update with no index entry written
    "lease_expires_at = CASE WHEN r.lease_expires_at >= v.renew "
    "THEN r.lease_expires_at ELSE v.lease END "
    "FROM unnest(%(ids)s::uuid[]) AS k(id), jsonb_to_record(%(rows)s::jsonb -> k.id::text) "
    "AS v(owner text, steps jsonb, context jsonb, lease timestamptz, renew timestamptz) "
    "WHERE r.id = k.id AND r.tenant_id = %(tenant)s AND r.lease_owner = v.owner "
    "AND r.status = 'running' RETURNING r.id")
# the runs ended and their workflows' counters raised (x = x + n) in one statement, so in
# one transaction however many workers end runs at once; the workflows are locked by a
# sorted FOR UPDATE the counters' update joins, so two batches take them in id order (were
# two ever to deadlock, PostgreSQL aborts one and the coalescer ends its runs one by one)
END = (
    "WITH ended AS (UPDATE workflow_runs AS r SET status = v.status, error = v.error, "
    "finished_at = %(now)s, steps = v.steps, context = COALESCE(v.context, r.context), "
    "lease_owner = NULL, lease_expires_at = NULL "
    "FROM unnest(%(ids)s::uuid[]) AS k(id), jsonb_to_record(%(rows)s::jsonb -> k.id::text) "
    "AS v(owner text, status text, error text, steps jsonb, context jsonb) "
    "WHERE r.id = k.id AND r.tenant_id = %(tenant)s AND r.lease_owner = v.owner "
    "AND r.status = 'running' RETURNING r.id, r.workflow_id, v.status), "
    "counts AS (SELECT workflow_id, "
    "count(*) FILTER (WHERE status IN ('succeeded', 'failed')) AS counted, "
    "count(*) FILTER (WHERE status = 'succeeded') AS succeeded "
    "FROM ended GROUP BY workflow_id), "
    "locked AS (SELECT w.id FROM workflow_automations AS w "
    "WHERE w.id IN (SELECT workflow_id FROM counts) AND w.tenant_id = %(tenant)s "
    "ORDER BY w.id FOR UPDATE), "
    "bumped AS (UPDATE workflow_automations AS w SET last_run_at = %(now)s, "
    "execution_count = w.execution_count + c.counted, "
    "success_count = w.success_count + c.succeeded "
    "FROM counts AS c, locked AS l WHERE w.id = c.workflow_id AND w.id = l.id "
    "RETURNING w.id) "
    "SELECT id FROM ended")  # the CTEs that write run whether or not this reads them


@dataclass(frozen=True)
class Claim:
    run_id: uuid.UUID
    owner: str
    lease_s: float


@dataclass(frozen=True)
class Save:
    tenant_id: uuid.UUID
    run_id: uuid.UUID
    owner: str
    steps: list[Any]
    context: dict[str, Any] | None  # None: as the row has it (unchanged since this worker
    # wrote it)
    lease_until: datetime
    renew_before: datetime  # a lease that lasts past this is kept as it is


@dataclass(frozen=True)
class End:
    tenant_id: uuid.UUID
    run_id: uuid.UUID
    owner: str
    status: str
    error: str | None
    steps: list[Any]
    context: dict[str, Any] | None  # as in Save


@dataclass(frozen=True)
class Resolve:
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID


Resolved = tuple[WorkflowAutomation, Integration, str]


class RunWrites:
    """The coalesced claim, save and end of one database's runs, in this process, and
    the read each run starts with: its workflow and the workflow's integration."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.claims: Coalescer[Claim, WorkflowRun | None] = Coalescer(
            self._claim, max_items=MAX_BATCH)
        self.saves: Coalescer[Save, bool] = Coalescer(self._save, max_items=MAX_BATCH)
        self.ends: Coalescer[End, datetime | None] = Coalescer(self._end, max_items=MAX_BATCH)
        self.workflows: Coalescer[Resolve, Resolved | None] = Coalescer(
            self._resolve, max_items=MAX_BATCH)

    async def _resolve(self, wanted: list[Resolve]) -> list[Resolved | BaseException | None]:
        """Each workflow and its integration as they are now (read fresh for each batch,
        so an edit is seen by the next run), in the tenant's own session."""
        found: dict[tuple[uuid.UUID, uuid.UUID], Resolved] = {}
        groups: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for want in wanted:
            groups[want.tenant_id].add(want.workflow_id)
        for tenant_id, ids in groups.items():
            async with self.db.session(tenant_id) as session:
                workflows = (await session.scalars(select(WorkflowAutomation).where(
                    WorkflowAutomation.id.in_(sorted(ids))))).all()
                integrations = {row[0].id: (row[0], row[1]) for row in (await session.execute(
                    select(Integration, IntegrationProvider.name)
                    .join(IntegrationProvider,
                          IntegrationProvider.id == Integration.provider_id)
                    .where(Integration.id.in_(sorted({w.integration_id for w in workflows}))))
                ).all()}
            for workflow in workflows:
                if workflow.integration_id in integrations:
                    integration, provider = integrations[workflow.integration_id]
                    found[(tenant_id, workflow.id)] = (workflow, integration, provider)
        return [found.get((w.tenant_id, w.workflow_id)) for w in wanted]

    async def _claim(self, claims: list[Claim]) -> list[WorkflowRun | BaseException | None]:
        """A queued run, or a running one whose lease lapsed; one UPDATE for the batch, each
        run under its own caller's owner and lease (a job carries ids only, never a tenant
        to trust: the rows name their tenants). The ids go as one array, so the statement's
        text is the same whatever their number and is prepared once; the rows come back as
        plain values made into detached runs, not through the ORM's bulk update."""
        now = utcnow()
        # a run claimed twice in one batch (a duplicate job) goes to its first caller
        first: dict[uuid.UUID, Claim] = {}
        for claim in claims:
            first.setdefault(claim.run_id, claim)
        found: dict[uuid.UUID, WorkflowRun] = {}
        by_lease: dict[tuple[str, float], list[uuid.UUID]] = defaultdict(list)
        for claim in first.values():
            by_lease[(claim.owner, claim.lease_s)].append(claim.run_id)
        async with self.db.direct.connection() as connection:
            for (owner, lease_s), ids in by_lease.items():
                cursor = connection.cursor(row_factory=dict_row)
                await cursor.execute(CLAIM, {"ids": uuid_array(sorted(ids)), "owner": owner,
                                             "now": now,
                                             "until": now + timedelta(seconds=lease_s)})
                found.update({row["id"]: WorkflowRun(**row) for row in await cursor.fetchall()})
        return [found.get(c.run_id) if first[c.run_id] is c else None for c in claims]

    async def _save(self, saves: list[Save]) -> list[bool | BaseException]:
        done: set[uuid.UUID] = set()
        async with self.db.direct.connection() as connection:
            for tenant_id, group in _by_tenant(saves).items():
                cursor = await connection.execute(SAVE, {
                    "tenant": tenant_id, "ids": uuid_array(s.run_id for s in group),
                    "rows": json_text({str(s.run_id): {
                        "owner": s.owner, "steps": s.steps, "context": s.context,
                        "lease": s.lease_until, "renew": s.renew_before} for s in group})})
                done.update(row[0] for row in await cursor.fetchall())
        return [s.run_id in done for s in saves]

    async def _end(self, ends: list[End]) -> list[datetime | BaseException | None]:
        now = utcnow()
        done: set[uuid.UUID] = set()
        async with self.db.direct.connection() as connection:
            for tenant_id, group in _by_tenant(ends).items():
                cursor = await connection.execute(END, {
                    "tenant": tenant_id, "now": now, "ids": uuid_array(e.run_id for e in group),
                    "rows": json_text({str(e.run_id): {
                        "owner": e.owner, "status": e.status, "error": e.error,
                        "steps": e.steps, "context": e.context} for e in group})})
                done.update(row[0] for row in await cursor.fetchall())
        return [now if e.run_id in done else None for e in ends]


def _by_tenant(items: list[Any]) -> dict[uuid.UUID, list[Any]]:
    groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.run_id):  # row locks in one order
        groups[item.tenant_id].append(item)
    return groups


_writers: weakref.WeakKeyDictionary[Database, RunWrites] = weakref.WeakKeyDictionary()


def writes_for(db: Database) -> RunWrites:
    if db not in _writers:
        _writers[db] = RunWrites(db)
    return _writers[db]
