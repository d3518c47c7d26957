"""Running one workflow run: the arq job ``run_workflow(run_id)``.

    claim the run (a lease) -> the event, and the record it names fetched once through
    the connector (HubSpot's events carry only objectId) -> the conditions -> each action
    in order, its status, output, error, attempts and duration saved as it ends -> finish

Failures are read by the taxonomy (store/errors.py): a transient one (a 429, a 5xx, a
timeout) gives the run up until a backoff has passed and queues its job for then, up to
``WORKFLOW_STEP_MAX_TRIES`` tries of the step; anything else stops the run with the
cause, in the step and in the run's ``error``. A delay gives the run up the same way.
A run taken over from a dead worker, a retry and a replay all go on from the first
step that has not succeeded, reusing the outputs of those before it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from sqlalchemy import update

from connectors.connector import Connector
from connectors.errors import BadRequest, NotFoundAtProvider
from connectors.registry import connector_spec
from jobs.constants import (
    WORKFLOW_BATCH,
    WORKFLOW_BATCH_JOB,
    WORKFLOW_BATCH_JOB_ID,
    WORKFLOW_JOB,
    WORKFLOW_JOB_ID,
    WORKFLOW_LEASE_S,
    WORKFLOW_RETRY_BASE_S,
    WORKFLOW_STEP_MAX_TRIES,
    WORKFLOW_STEP_TIMEOUT_S,
)
from jobs.sync.engine import new_owner
from jobs.workflows import runs
from jobs.workflows.actions import ActionContext, IntegrationRef, Postpone, prepare, repeatable
from jobs.workflows.batch import RunBatch, batch_for, ref
from jobs.workflows.conditions import matches
from jobs.workflows.run_writes import Resolve, writes_for
from store.errors import Failure, TransientError, classify_failure
from store.models import HealthLog, Integration, WorkflowAutomation, WorkflowRun
from store.models.base import utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0
PROGRESS_EVERY_S = 1.0  # a run this long without a write writes its next step's start


async def enqueue(queue: ArqRedis | None, run_id: uuid.UUID, *, attempt: str = "0",
                  at: datetime | None = None) -> None:
    if queue is not None:
        await queue.enqueue_job(WORKFLOW_JOB, str(run_id),
                                _job_id=WORKFLOW_JOB_ID.format(run_id=run_id, attempt=attempt),
                                _defer_until=at)


async def enqueue_many(queue: ArqRedis | None, run_ids: list[uuid.UUID]) -> None:
    """New runs, up to ``WORKFLOW_BATCH`` an arq job: one enqueue and one job's overhead
    for many, and the runs of a job claim, save and end together (run_writes.py)."""
    if queue is None:
        return
    for start in range(0, len(run_ids), WORKFLOW_BATCH):
        chunk = run_ids[start:start + WORKFLOW_BATCH]
        if len(chunk) == 1:
            await enqueue(queue, chunk[0])
            continue
        await queue.enqueue_job(WORKFLOW_BATCH_JOB, [str(r) for r in chunk],
                                _job_id=WORKFLOW_BATCH_JOB_ID.format(first=chunk[0],
                                                                     count=len(chunk)))


async def run_workflows(ctx: dict[str, Any], run_ids: list[str]) -> dict[str, Any]:
    """A batch job: each run as ``run_workflow`` would take it, side by side, sharing the
    integrations, connectors and record reads of the batch (batch.py). A run that
    fails unexpectedly fails the job once every other run has gone as far as it goes, so
    arq tries the job again: the runs that ended, or that another holds, are left alone."""
    async with batch_for(ctx) as batch:
        results = await asyncio.gather(*(run_workflow(ctx, r, batch) for r in run_ids),
                                       return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    statuses: dict[str, int] = {}
    for result in results:
        assert not isinstance(result, BaseException)
        statuses[str(result["status"])] = statuses.get(str(result["status"]), 0) + 1
    return {"runs": len(run_ids), "statuses": statuses}


async def run_workflow(ctx: dict[str, Any], run_id: str,
                       batch: RunBatch | None = None) -> dict[str, Any]:
    """Claim the run and take it as far as it goes now. A run another worker holds, or
    one that has ended, is left alone: this job ends at once."""
    lease_s = float(ctx.get("workflow_lease_s", WORKFLOW_LEASE_S))
    owner = new_owner()
    run = await runs.claim(ctx["db"], uuid.UUID(run_id), owner=owner, lease_s=lease_s)
    if run is None:
        return {"status": "held elsewhere or ended", "run_id": run_id}
    try:
        if batch is not None:
            return await Execution(ctx, run, owner, lease_s, batch).go()
        async with batch_for(ctx) as alone:
            return await Execution(ctx, run, owner, lease_s, alone).go()
    except runs.LeaseLost:
        return {"status": "taken over", "run_id": run_id}


class Execution:
    def __init__(self, ctx: dict[str, Any], run: WorkflowRun, owner: str,
                 lease_s: float, batch: RunBatch) -> None:
        self.ctx, self.run, self.owner, self.lease_s = ctx, run, owner, lease_s
        self.batch = batch
        self.db = ctx["db"]
        self.retry_base = float(ctx.get("workflow_retry_base_s", WORKFLOW_RETRY_BASE_S))
        self.services = {"db": self.db, "vault": ctx["vault"], "redis": ctx["redis"],
                         "allow_private": bool(ctx.get("allow_private", False))}
        self._touched: set[uuid.UUID] = set()  # the integrations the current step called
        # what the row does not know yet: the steps done since the last write, and when
        # that write was (the claim is one)
        self._unwritten: list[dict[str, Any]] = []
        self._written_at = time.monotonic()

    async def go(self) -> dict[str, Any]:
        return await self._go()

    async def _go(self) -> dict[str, Any]:
        run = self.run
        resolved = await writes_for(self.db).workflows.submit(
            Resolve(run.tenant_id, run.workflow_id))
        if resolved is None:
            return await self._end("failed", "the workflow or its integration was deleted")
        workflow, integration, provider = resolved
        self.workflow = workflow
        self.trigger = ref(integration, provider)
        self.batch.know(integration, provider)  # no second lookup for it
        context = dict(run.context)
        context.setdefault("actions", list(workflow.actions))
        actions: list[dict[str, Any]] = context["actions"]
        steps = [dict(s) for s in run.steps]
        steps += [{"index": n, "type": a.get("type"), "id": a.get("id"), "status": "pending",
                   "attempts": 0} for n, a in enumerate(actions) if n >= len(steps)]
        run.steps, run.context = steps, context
        values = self._values()
        if "record" not in context:
            try:
                context["record"] = await self._fetch_record(values["event"])
            except Exception as exc:  # classed below: retried, or the run's cause
                return await self._failed(exc, None, "reading the record")
            values["record"] = context["record"] or {}
            # saved with the first step's start (or the end): nothing happens in between
        if not context.get("conditions_met"):
            if not matches(workflow.conditions, values):
                return await self._end("skipped", None)
            context["conditions_met"] = True
        for n, action in enumerate(actions):
            step = steps[n]
            if step["status"] == "succeeded":
                self._remember(values, step)
                continue
            held = await self._step(n, action, step, values)
            if held is not None:
                return held
        return await self._end("succeeded", None)

    def _values(self) -> dict[str, Any]:
        run, given = self.run, self.run.input
        payload = given.get("payload")
        return {
            "event": payload if isinstance(payload, dict) else {"items": payload},
            "record": run.context.get("record") or {},
            "trigger": {"type": run.trigger, "event_type": given.get("type"),
                        "event_id": given.get("event_id"), "fired_at": given.get("fired_at"),
                        "integration": str(self.trigger.id), "provider": self.trigger.provider},
            "workflow": {"id": str(self.workflow.id), "name": self.workflow.name},
            "run": {"id": str(run.id)}, "now": datetime.now(UTC).isoformat(), "steps": {}}

    def _remember(self, values: dict[str, Any], step: dict[str, Any]) -> None:
        values["steps"][step["index"]] = step.get("output") or {}
        if step.get("id"):
            values["steps"][step["id"]] = step.get("output") or {}

    async def _fetch_record(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The record the event names, read once (kept in the run's context), with the
        batch's other runs' records where the provider reads many by id."""
        spec = connector_spec(self.trigger.provider)
        hooks = spec.webhooks if spec else None
        subject = hooks.subject(event) if hooks and hooks.subject else None
        if spec is None or subject is None or spec.stream(subject[0]).one is None:
            return None
        await self.connector(self.trigger.id)  # touched: a failure here is about it
        self.run.context["record_source"] = {"stream": subject[0], "id": subject[1]}
        return await self.batch.record(self.run.tenant_id, self.trigger.id, *subject)

    async def connector(self, integration_id: uuid.UUID) -> tuple[Connector, IntegrationRef]:
        """The connector of one of the tenant's integrations, opened once per batch."""
        self._touched.add(integration_id)
        return await self.batch.connector(self.run.tenant_id, integration_id)

    async def _step(self, n: int, action: dict[str, Any], step: dict[str, Any],
                    values: dict[str, Any]) -> dict[str, Any] | None:
        """Run one step; a dict when the run stops here (ended, or waiting)."""
        where = f"actions[{n}]"
        if step["status"] == "waiting":
            until = datetime.fromisoformat(step["resume_at"])
            if until > utcnow():
                return await self._hold(until, f"delay-{n}", "waiting")
            step.update(status="succeeded", output={"waited_until": step["resume_at"]},
                        finished_at=utcnow().isoformat())
            self._remember(values, step)
            await runs.save(self.db, self.run, self.owner, self.lease_s)
            return None
        self._touched.clear()
        step.update(status="running", attempts=int(step.get("attempts", 0)) + 1,
                    started_at=utcnow().isoformat(), error=None)
        if self._must_write():
            await runs.save(self.db, self.run, self.owner, self.lease_s)
            self._unwritten.clear()
            self._written_at = time.monotonic()
        started = time.perf_counter()
        try:
            spec, params = prepare(action, values, where)
            context = ActionContext(
                tenant_id=self.run.tenant_id, workflow_id=self.workflow.id,
                workflow_name=self.workflow.name, run_id=self.run.id,
                trigger_integration=self.trigger, values=values, services=self.services,
                connector=self.connector, field=where)
            async with asyncio.timeout(WORKFLOW_STEP_TIMEOUT_S):
                output = await spec.run(context, params)
        except Postpone as wait:
            step.update(status="waiting", resume_at=wait.until.isoformat(),
                        duration_ms=_ms(started))
            return await self._hold(wait.until, f"delay-{n}", "waiting")
        except runs.LeaseLost:
            raise
        except TimeoutError:
            return await self._failed(TransientError(
                f"{where} took longer than {WORKFLOW_STEP_TIMEOUT_S:.0f}s"), step, where,
                started)
        except Exception as exc:  # classed by the taxonomy in _failed
            return await self._failed(exc, step, where, started)
        step.update(status="succeeded", output=output, duration_ms=_ms(started),
                    finished_at=utcnow().isoformat())
        self._remember(values, step)
        self._unwritten.append(action)
        # saved with the next step's start (where that must be written), or with the run's
        # end: nothing runs in between, so a worker that dies here leaves the same record
        return None

    def _must_write(self) -> bool:
        """Whether the step about to start is written first. Not when every step done
        since the last write is repeatable (a run taken over after a crash does them again
        to the same effect: an upsert by key) and that write is recent: a run of upserts
        and one notification is then claimed and ended, two writes where there were four.
        A step that cannot be done twice (a post, a create) is written as done before the
        next starts, so it is not done again; a run that has gone a second without a
        write shows which step it is on."""
        if time.monotonic() - self._written_at >= PROGRESS_EVERY_S:
            return True
        return not all(repeatable(a) for a in self._unwritten)

    async def _failed(self, exc: BaseException, step: dict[str, Any] | None, where: str,
                      started: float | None = None) -> dict[str, Any]:
        failure = classify_failure(exc)
        tries = int(step.get("attempts", 1)) if step is not None else int(
            self.run.context.get("fetch_attempts", 0)) + 1
        if step is None:
            self.run.context["fetch_attempts"] = tries
        else:
            step["duration_ms"] = _ms(started) if started else None
        if failure.retryable and tries < WORKFLOW_STEP_MAX_TRIES:
            wait = min(failure.retry_after or self.retry_base * 2 ** (tries - 1), MAX_BACKOFF_S)
            if step is not None:
                step.update(status="retrying", error=failure.message)
                step.setdefault("retries", []).append(
                    {"attempt": tries, "error": failure.message, "code": failure.code,
                     "retry_in_s": round(wait, 3)})
            return await self._hold(utcnow() + timedelta(seconds=wait), f"retry-{where}-{tries}",
                                    "retrying")
        message = f"{failure.message}. {failure.action}"
        await self._note(exc, failure, message, where)
        if failure.kind == "system":
            log.error("workflow run %s: %s failed", self.run.id, where, exc_info=exc)
        if step is not None:
            step.update(status="failed", error=message, error_kind=failure.kind,
                        error_code=failure.code, finished_at=utcnow().isoformat())
            cause = f"step {step['index'] + 1} ({step['type']}) failed: {message}"
        else:
            cause = f"{where} failed: {message}"
        return await self._end("failed", cause[:4000])

    async def _note(self, exc: BaseException, failure: Failure, message: str,
                    where: str) -> None:
        """A run stopped by a failure leaves a health-log row, as a sync does; a failure
        about an integration's standing (credentials refused, a missing scope) sets its
        status by the one rule, but a refusal of one record (a 400, a 404) does not."""
        about_record = isinstance(exc, BadRequest | NotFoundAtProvider)
        async with self.db.transaction(self.run.tenant_id) as session:
            for integration_id in self._touched or {self.trigger.id}:
                if failure.integration_status is not None and not about_record:
                    await session.execute(
                        update(Integration).where(Integration.id == integration_id)
                        .values(status=failure.integration_status, last_error=message[:4000]))
                session.add(HealthLog(
                    tenant_id=self.run.tenant_id, integration_id=integration_id,
                    severity="critical" if failure.kind == "system" else "error",
                    category=f"workflow_{failure.code}"[:40], message=message[:4000],
                    details={"kind": failure.kind, "action": failure.action, "step": where,
                             "workflow_id": str(self.run.workflow_id),
                             "workflow_run_id": str(self.run.id)}))

    async def _hold(self, until: datetime, attempt: str, status: str) -> dict[str, Any]:
        await runs.hold(self.db, self.run, self.owner, until)
        await enqueue(self.ctx["redis"], self.run.id, attempt=attempt,
                      at=until + timedelta(milliseconds=100))
        return {"status": status, "run_id": str(self.run.id), "until": until.isoformat()}

    async def _end(self, status: str, error: str | None) -> dict[str, Any]:
        await runs.finish(self.db, self.run, self.owner, status, error)
        return {"status": status, "run_id": str(self.run.id), "error": error}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def dry_run(ctx: dict[str, Any], run: WorkflowRun, workflow: WorkflowAutomation,
                  integration: Integration, provider: str) -> dict[str, Any]:
    """What ``run`` (never saved) would do: the record read (a read, no write), whether the
    conditions hold, and each step's parameters after templating, or why they are wrong.
    Earlier steps' outputs are not known in a dry run, so templates reading them are
    empty."""
    async with RunBatch(ctx) as batch:
        execution = Execution(ctx, run, owner="dry-run", lease_s=0, batch=batch)
        execution.workflow, execution.trigger = workflow, ref(integration, provider)
        batch.know(integration, provider)
        values = execution._values()
        record_error = None
        try:
            values["record"] = await execution._fetch_record(values["event"]) or {}
        except Exception as exc:  # shown in the report, like a step's error
            record_error = classify_failure(exc).message
        met = matches(workflow.conditions, values)
        steps = []
        for n, action in enumerate(workflow.actions):
            where = f"actions[{n}]"
            try:
                spec, params = prepare(action, values, where)
                steps.append({"index": n, "type": spec.name, "ok": True,
                              "params": params.model_dump(mode="json")})
            except Exception as exc:  # a template or value problem, reported per step
                steps.append({"index": n, "type": action.get("type"), "ok": False,
                              "error": classify_failure(exc).message})
    return {"conditions_met": met, "event": values["event"], "record": values["record"],
            "record_error": record_error, "steps": steps}
