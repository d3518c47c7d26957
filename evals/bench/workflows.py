"""``connectus bench workflows``: signed HubSpot webhooks into the ingress, the brief's New
Lead Alert run for each by real workers, counted in the database.

What it brings up, each in a process of its own so none shares another's interpreter:
the embedded PostgreSQL and Redis in ``CONNECTUS_DATA_DIR`` (or the servers
``DATABASE_URL`` / ``REDIS_URL`` name), migrated; the HubSpot and Slack simulators
(``evals.bench.workflow_simulator``) on a free loopback port; the ingress, ``connectus
serve`` itself on a free loopback port; ``workers`` arq workers
(``evals.bench.workflow_worker``); and the load (``evals.bench.workflow_load``). In the
database it makes a tenant of its own (``bench-wf-...``) with a HubSpot and a Slack
integration on the simulators and the brief's two-action workflow (``contact.creation``
-> ``create_contact`` into the Connectus CRM -> ``send_notification`` to Slack), removed
at the end unless ``keep``.

After the load has sent its last delivery the bench waits until every accepted event
has a finished run (while runs still finish: at most ``STALLED_S`` without one, and
``drain_s`` in all), then counts: runs succeeded, events accepted
but without one (``lost``), and anything done more than once per event (``duplicated``:
runs, CRM contacts, Slack messages). ``executions_per_s`` is the runs that succeeded
over the time from the first delivery to the last run's end, so a backlog the workers
left behind counts against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import delete, func, select, text

from connectors.providers.hubspot import SPEC as HUBSPOT
from connectors.providers.slack import SPEC as SLACK
from evals.bench.cpu import CpuMeter
from evals.bench.workflow_load import CONCURRENCY
from store.accounts import Caller, create_tenant, create_user
from store.errors import SystemFault
from store.models import CrmContact, Role, Tenant, WebhookEvent, WorkflowAutomation, WorkflowRun
from tools.context import Services, Settings
from tools.integrations import IntegrationCreate, create_integration
from tools.runtime import announce_own_sandbox, running
from tools.workflows import WorkflowCreate, create_workflow

N8N_EXECUTIONS_PER_S = 220
N8N_ANCHOR = {"executions_per_s": N8N_EXECUTIONS_PER_S, "machine": "c5a.large, 2 vCPU",
              "workflow": "webhook trigger and one Set node, single instance",
              "source": "n8n docs, hosting/scaling/performance-benchmarking"}
# HubSpot sends a JSON array of up to 100 events a delivery, at most 10 deliveries in flight
# per account (/work/shared/providers/hubspot.md); at ~100-200 ms a round trip those 10
# carry 50-100 deliveries a second, so 500 events a second arrive ~10 a delivery. HubSpot
# does not document how full it packs them: 10 is that arithmetic, not a measurement.
EVENTS_PER_DELIVERY = 10
EVENTS_PER_DELIVERY_WHY = (
    "HubSpot batches webhook events, up to 100 a delivery, at most 10 deliveries in "
    "flight per account: at 500 events/s and ~100-200 ms a delivery that is ~10 events "
    "each (arithmetic from its documented limits; --events-per-delivery 1 for the "
    "one-event figures)")
FIRST_CONTACT = 1001  # the simulator's first contact id
STALLED_S = 30.0  # the drain gives up this long after the last run finished
NOTE = ("every part on this machine, each in its own process: PostgreSQL, Redis, the "
        "HubSpot+Slack simulator, one `connectus serve` ingress, the workers, the load; "
        "the simulators' rate limits and the connectors' quota budgets are lifted alike "
        "(the budget's Redis round trip per call is still paid); each run reads the "
        "contact from HubSpot, upserts it into the CRM and posts to Slack")


class BenchFailed(SystemFault):
    """A part of the bench did not start or answer: no figures are printed."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Parts:
    """The processes the bench starts, and their logs in ``logs``."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, env
        self.processes: list[subprocess.Popen[str]] = []
        self._files: list[IO[str]] = []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str, stdout: bool = False) -> subprocess.Popen[str]:
        log = (self.logs / f"{name}.log").open("w")
        self._files.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", *args], env=self.env, text=True, stderr=log,
            stdout=subprocess.PIPE if stdout else log)
        self.processes.append(process)
        return process

    async def line(self, process: subprocess.Popen[str], what: str) -> str:
        assert process.stdout is not None
        got = await asyncio.to_thread(process.stdout.readline)
        if not got:
            raise BenchFailed(f"{what} did not start; see {self.logs}")
        return got.strip()

    async def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self._files:
            log.close()


async def _tenant(services: Services) -> Caller:
    slug = f"bench-wf-{uuid.uuid4().hex[:8]}"
    async with services.db.transaction(None) as session:
        tenant = await create_tenant(session, "Workflow benchmark", slug)
        user = await create_user(session, tenant.id, f"owner@{slug}.example", Role.owner)
    return Caller(tenant_id=tenant.id, user_id=user.id, role=Role.owner, email=user.email)


async def _new_lead_alert(services: Services, caller: Caller, url: str) -> tuple[str, str]:
    """The bench tenant's HubSpot and Slack integrations and the brief's workflow."""
    made = {}
    for spec, settings in ((HUBSPOT, {}), (SLACK, {"default_channel": "#general"})):
        demo = spec.sandbox_demo or {}
        integration = await create_integration(services, caller, IntegrationCreate(
            provider=spec.name, name=f"{spec.name} (bench)",
            settings={**demo.get("settings", {}), **settings, "sandbox_url": url},
            credentials=dict(demo["credentials"])))
        made[spec.name] = integration.id
    workflow = await create_workflow(services, caller, WorkflowCreate(
        integration=made["hubspot"], name="New Lead Alert", trigger_type="webhook",
        trigger_config={"event": "contact.creation"},
        actions=[{"type": "create_contact", "target": "digisol_crm"},
                 {"type": "send_notification", "channel": "slack"}]))
    return str(made["hubspot"]), str(workflow.id)


async def _ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/healthz")).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise BenchFailed(f"the ingress at {url} did not answer within {timeout_s:.0f}s")


async def _tally(services: Services, caller: Caller, workflow_id: str,
                 accepted: set[int]) -> dict[str, Any]:
    """What the database holds for the bench's events, by event id."""
    async with services.db.session(caller.tenant_id) as session:
        event_id = WebhookEvent.payload["eventId"].as_integer()
        rows = (await session.execute(
            select(event_id, WorkflowRun.status, WorkflowRun.started_at,
                   WorkflowRun.finished_at)
            .join(WebhookEvent, WebhookEvent.id == WorkflowRun.webhook_event_id)
            .where(WorkflowRun.workflow_id == uuid.UUID(workflow_id)))).all()
        stored = int(await session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)
        contacts = int(await session.scalar(select(func.count()).select_from(CrmContact)) or 0)
        counts = (await session.execute(
            select(WorkflowAutomation.execution_count, WorkflowAutomation.success_count)
            .where(WorkflowAutomation.id == uuid.UUID(workflow_id)))).one()
    succeeded = [r for r in rows if r.status == "succeeded"]
    done = {int(r[0]) for r in succeeded}
    return {"runs": len(rows), "succeeded": len(succeeded),
            "unfinished": sum(r.status in ("queued", "running") for r in rows),
            "failed": sum(r.status == "failed" for r in rows),
            "events_with_run": len({int(r[0]) for r in rows}),
            "lost": len(accepted - done), "stored_events": stored, "crm_contacts": contacts,
            "execution_count": counts.execution_count, "success_count": counts.success_count,
            "last_finished": max((r.finished_at for r in succeeded), default=None)}


async def _drain(services: Services, caller: Caller, workflow_id: str, accepted: set[int],
                 drain_s: float) -> tuple[dict[str, Any], float]:
    """Until every accepted event has its run, while runs still finish: it gives up after
    ``STALLED_S`` without one more finished, or ``drain_s`` in all. It watches the
    workflow's counter (one row), not the runs: a tally of every run each half second
    cost the machine the workers were draining on as much as a share of their work; the
    whole tally is taken once, at the end."""
    started = last_progress = time.monotonic()
    finished = -1
    while True:
        ended = await _ended(services, caller, workflow_id)
        now = time.monotonic()
        if ended > finished:
            finished, last_progress = ended, now
        if ended >= len(accepted) or now - started > drain_s or now - last_progress > STALLED_S:
            tally = await _tally(services, caller, workflow_id, accepted)
            if (tally["lost"] == 0 and tally["unfinished"] == 0) or now - started > drain_s \
                    or now - last_progress > STALLED_S:
                return tally, time.monotonic() - started
        await asyncio.sleep(0.5)


async def _ended(services: Services, caller: Caller, workflow_id: str) -> int:
    """The runs ended, succeeded or failed, as the workflow counts them."""
    async with services.db.session(caller.tenant_id) as session:
        return int(await session.scalar(
            select(WorkflowAutomation.execution_count)
            .where(WorkflowAutomation.id == uuid.UUID(workflow_id))) or 0)


async def _clean(services: Services, caller: Caller) -> None:
    async with services.db.transaction(None) as session:
        await session.execute(delete(Tenant).where(Tenant.id == caller.tenant_id))
    # the bench's deleted rows would bloat these tables until autovacuum came by
    async with services.db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("workflow_runs", "webhook_events", "crm_contacts"):
            await autocommit.execute(text(f"VACUUM (ANALYZE) {table}"))


@asynccontextmanager
async def _parts(settings: Settings, services: Services) -> AsyncIterator[Parts]:
    env = {**os.environ, "DATABASE_URL": services.db.url,
           "REDIS_URL": str(services.extras["redis_url"]),
           "CONNECTUS_DATA_DIR": str(settings.data_dir)}
    parts = Parts(Path(settings.data_dir) / "bench" / "workflows", env)
    try:
        yield parts
    finally:
        await parts.stop()


async def bench_workflows(settings: Settings, seconds: float, *, rate: float = 600,
                          workers: int = 2, max_jobs: int = 50, concurrency: int = CONCURRENCY,
                          redelivery_share: float = 0.02,
                          events_per_delivery: int = EVENTS_PER_DELIVERY,
                          drain_s: float | None = None,
                          keep: bool = False, port: int = 0) -> dict[str, Any]:
    drain = drain_s if drain_s is not None else max(120.0, 4 * seconds)
    records = int(seconds * rate * 1.2) + 1000
    async with running(settings) as services:
        caller = await _tenant(services)
        try:
            async with _parts(settings, services) as parts:
                simulator = parts.start("simulator", "evals.bench.workflow_simulator",
                                        "--records", str(records), "--port",
                                        str(port + 1 if port else 0), stdout=True)
                url = f"http://127.0.0.1:{await parts.line(simulator, 'the simulator')}"
                with announce_own_sandbox(Path(settings.data_dir), url):
                    integration, workflow_id = await _new_lead_alert(services, caller, url)
                    result = await _measure(
                        services, parts, caller, url, integration, workflow_id,
                        seconds=seconds, rate=rate, workers=workers, max_jobs=max_jobs,
                        concurrency=concurrency, redelivery_share=redelivery_share,
                        events_per_delivery=events_per_delivery, drain_s=drain, port=port)
        finally:
            if not keep:  # once every part has stopped writing
                await _clean(services, caller)
    result["kept"] = {"tenant": str(caller.tenant_id), "workflow": workflow_id} if keep \
        else None
    return result


async def _measure(services: Services, parts: Parts, caller: Caller, sandbox: str,
                   integration: str, workflow_id: str, *, seconds: float, rate: float,
                   workers: int, max_jobs: int, concurrency: int, redelivery_share: float,
                   events_per_delivery: int, drain_s: float,
                   port: int = 0) -> dict[str, Any]:
    port = port or _free_port()
    ingress = f"http://127.0.0.1:{port}"
    ingress_process = parts.start("ingress", "ui.cli", "serve", "--host", "127.0.0.1",
                                  "--port", str(port))
    started = [parts.start(f"worker{n}", "evals.bench.workflow_worker", "--max-jobs",
                           str(max_jobs), stdout=True) for n in range(workers)]
    for n, worker in enumerate(started):
        await parts.line(worker, f"worker {n}")
    await _ready(ingress)
    accepted_path = parts.logs / "accepted.txt"
    demo = HUBSPOT.sandbox_demo or {}
    config = {"url": f"{ingress}/integrations/webhooks/{integration}/",
              "secret": demo["credentials"]["client_secret"], "seconds": seconds,
              "rate": rate, "concurrency": concurrency, "first_contact": FIRST_CONTACT,
              "redelivery_share": redelivery_share, "accepted_path": str(accepted_path),
              "events_per_delivery": events_per_delivery}
    meter = CpuMeter()
    meter.add("ingress", [ingress_process.pid])
    meter.add("workers", [w.pid for w in started])
    meter.add("simulator", [parts.processes[0].pid])
    meter.add("bench", [os.getpid()])  # its drain's polling of the database
    await meter.add_servers(services.db, services.extras.get("redis_url"))
    meter.start()
    load = parts.start("load", "evals.bench.workflow_load", json.dumps(config), stdout=True)
    meter.add("load", [load.pid])
    line = await parts.line(load, "the load")
    meter.freeze("load")
    sent = json.loads(line)
    accepted = {int(n) for n in accepted_path.read_text().split()}
    tally, waited = await _drain(services, caller, workflow_id, accepted, drain_s)
    meter.stop()
    async with httpx.AsyncClient() as client:
        slack = (await client.get(f"{sandbox}/_bench/slack")).json()
    result = summarise(sent, tally, slack, waited, workers=workers, max_jobs=max_jobs)
    result["cpu_ms_per_execution"] = meter.per_unit_ms(tally["succeeded"])
    result["cpu_s"] = meter.seconds()
    return result


def summarise(sent: dict[str, Any], tally: dict[str, Any], slack: dict[str, int],
              waited_s: float, *, workers: int, max_jobs: int) -> dict[str, Any]:
    began = datetime.fromtimestamp(sent["began_at"], UTC)
    last = tally["last_finished"]
    span = (last - began).total_seconds() if last else 0.0
    ran = tally["events_with_run"]
    duplicated_by = {"runs": tally["runs"] - ran,
                     "crm_contacts": max(0, tally["crm_contacts"] - ran),
                     # a run still unfinished may have posted already: counted by event
                     "slack_messages": max(slack["messages"] - slack["distinct_texts"],
                                           slack["messages"] - ran, 0)}
    executions = tally["succeeded"] / span if span > 0 else 0.0
    return {
        "executions_per_s": round(executions, 1),
        "p50_ingress_ms": sent["p50_ms"], "p99_ingress_ms": sent["p99_ms"],
        "lost": tally["lost"], "duplicated": sum(duplicated_by.values()),
        "events": sent["events"],
        "ratio_vs_n8n": round(executions / N8N_EXECUTIONS_PER_S, 2),
        "n8n_anchor": N8N_ANCHOR,
        "offered_per_s": sent["offered_per_s"], "rate": sent.get("rate"),
        "deliveries_per_s": sent.get("deliveries_per_s"), "load_seconds": sent["seconds"],
        "ingress_per_s": round(sent["events"] / sent["seconds"], 1) if sent["seconds"] else 0,
        "max_ingress_ms": sent["max_ms"], "load_late_ms_max": sent["late_ms_max"],
        "deliveries": sent["sent"], "unsent": sent["unsent"],
        "events_per_delivery": sent.get("events_per_delivery", 1),
        "events_per_delivery_why": EVENTS_PER_DELIVERY_WHY,
        "redeliveries": sent["redeliveries"],
        "statuses": sent["statuses"],
        "runs": {k: tally[k] for k in ("runs", "succeeded", "failed", "unfinished")},
        "counters": {"execution_count": tally["execution_count"],
                     "success_count": tally["success_count"]},
        "stored_events": tally["stored_events"], "crm_contacts": tally["crm_contacts"],
        "slack_messages": slack["messages"], "duplicated_by": duplicated_by,
        "seconds_to_last_run": round(span, 2), "drain_s": round(waited_s, 2),
        "workers": workers, "max_jobs_per_worker": max_jobs, "cpus": os.cpu_count(),
        "note": NOTE,
    }
