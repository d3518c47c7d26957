"""``connectus bench sync``: an inbound sync of N sandbox HubSpot contacts, against dlt and
against the fetch-only limit, all in one run on one simulator and one PostgreSQL.

What it brings up: the embedded PostgreSQL and Redis in ``CONNECTUS_DATA_DIR`` (or the
servers ``DATABASE_URL`` / ``REDIS_URL`` name), migrated, and the HubSpot simulator with N
contacts in a process of its own on a free loopback port. In the database it makes a
tenant of its own (``bench-...``) with a HubSpot integration pointed at the simulator and
one flow per round, and dlt gets a schema of its own per round; both are removed at the
end unless ``keep`` (then the JSON names them).

Each round runs the three sides one after another, each in a fresh process
(``evals.bench.sides``): the fetch-only loop, the Connectus flow, dlt. The simulator's
rate limits and the integration's budget are lifted on every side alike, so what is
measured is the software and not a provider's limit. Every side's count is checked:
the run's records read, the rows in ``synced_records``, the rows in dlt's table.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url

from connectors.providers.hubspot import SPEC as HUBSPOT
from store.accounts import Caller, create_tenant, create_user
from store.errors import SystemFault
from store.models import Role, SyncedRecord, Tenant
from tools.context import Services, Settings
from tools.data_flows import DataFlowCreate, create_data_flow
from tools.integrations import IntegrationCreate, create_integration
from tools.runtime import register_own_sandbox, running


class BenchFailed(SystemFault):
    """A side failed or moved the wrong number of records: no figures are printed."""


# a realistic contacts mapping: every kind of rule a CRM import uses, on every record
MAPPINGS: list[dict[str, Any]] = [
    {"source": "email", "target": "email", "rules": ["trim", {"rule": "email"}]},
    {"source": "firstname", "target": "firstName",
     "rules": ["trim", {"rule": "case", "to": "title"}]},
    {"source": "lastname", "target": "lastName",
     "rules": ["trim", {"rule": "case", "to": "title"}]},
    {"source": ["firstname", "lastname"], "target": "fullName",
     "rules": [{"rule": "concat", "separator": " "}, {"rule": "case", "to": "title"}]},
    {"source": "company", "target": "company", "rules": ["trim"]},
    {"source": "lifecyclestage", "target": "stage", "rules": [{"rule": "case", "to": "upper"}]},
    {"source": "updatedAt", "target": "updatedOn",
     "rules": [{"rule": "date", "input": ["iso"], "output": "date",
                "output_timezone": "Europe/Berlin"}]},
]
NOTE = ("the simulator's rate limits and the integration's quota budget are lifted on "
        "every side alike (the budget's Redis round trip per call is still paid); "
        "each side runs in its own process against one simulator process and one "
        "PostgreSQL; dlt: rest_api source, write_disposition merge on id (the same upsert "
        "as synced_records), its default loader; fetch-only: the same pages read by a "
        "plain httpx loop and thrown away; peak_rss_mb is the Connectus process's high-water "
        "RSS (VmHWM), imports included")
SIDES = ("fetch", "connectus", "dlt")


@asynccontextmanager
async def simulator(records: int) -> Any:
    """The HubSpot simulator with ``records`` contacts; yields a coroutine for its URL
    (awaited once it is needed, so its start overlaps whatever the caller starts)."""
    process = subprocess.Popen(  # noqa: ASYNC220  (it returns at once; waits are in threads)
        [sys.executable, "-m", "evals.bench.simulator", "--records", str(records)],
        stdout=subprocess.PIPE, text=True)

    async def ready() -> str:
        assert process.stdout is not None
        port = int(await asyncio.to_thread(process.stdout.readline) or 0)
        if not port:
            raise BenchFailed("the bench's simulator did not start")
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as control:  # lifted for every side alike
            (await control.post(f"{url}/hubspot/_sandbox/limits",
                                json={"ten_secondly": 10**9, "daily": 10**12})
             ).raise_for_status()
        return url

    starting = ready()
    try:
        yield starting
    finally:
        starting.close()  # never awaited when what the caller started first failed
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


async def _tenant(services: Services) -> Caller:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with services.db.transaction(None) as session:
        tenant = await create_tenant(session, "Sync benchmark", slug)
        user = await create_user(session, tenant.id, f"owner@{slug}.example", Role.owner)
    return Caller(tenant_id=tenant.id, user_id=user.id, role=Role.owner, email=user.email)


async def _flows(services: Services, caller: Caller, url: str, rounds: int) -> list[str]:
    demo = HUBSPOT.sandbox_demo or {}
    integration = await create_integration(services, caller, IntegrationCreate(
        provider="hubspot", name="HubSpot (bench)", settings={"sandbox_url": url},
        credentials=dict(demo["credentials"])))
    names = []
    for n in range(1, rounds + 1):
        flow = await create_data_flow(services, caller, DataFlowCreate(
            integration=integration.id, name=f"bench contacts {n}", stream="contacts",
            mappings=MAPPINGS, sync_frequency="daily"))
        names.append(str(flow.id))
    return names


def _side(side: str, config: dict[str, Any], env: dict[str, str],
          profile: Path | None = None) -> dict[str, Any]:
    profiler = ["-m", "cProfile", "-o", str(profile), "-m"] if profile and side == "connectus" \
        else ["-m"]
    done = subprocess.run([sys.executable, *profiler, "evals.bench.sides", side,
                           json.dumps(config)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchFailed(f"the {side} side failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


async def _landed(services: Services, caller: Caller, flow: str, dataset: str) -> dict[str, int]:
    async with services.db.session(caller.tenant_id) as session:
        ours = await session.scalar(select(func.count()).select_from(SyncedRecord).where(
            SyncedRecord.data_flow_id == uuid.UUID(flow)))
    async with services.db.engine.connect() as connection:
        theirs = await connection.scalar(text(f'SELECT count(*) FROM "{dataset}".contacts'))  # noqa: S608
    return {"connectus": int(ours or 0), "dlt": int(theirs or 0)}


async def _clean(services: Services, caller: Caller, datasets: list[str]) -> None:
    async with services.db.transaction(None) as session:
        await session.execute(delete(Tenant).where(Tenant.id == caller.tenant_id))
    async with services.db.engine.begin() as connection:
        for dataset in datasets:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{dataset}" CASCADE'))
    # the bench's deleted rows would otherwise bloat the table and its indexes until
    # autovacuum came by, slowing the next run (and everyone's syncs) meanwhile
    async with services.db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (ANALYZE) synced_records"))


def _dlt_credentials(url: str) -> str:
    """Our URL as dlt wants it: with a host and a password even where libpq needs neither
    (the embedded server's socket directory, trust authentication); libpq reads the
    ``host`` query parameter over the URL's host."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", host=parsed.host or "localhost",
                      password=parsed.password or "unused").render_as_string(
                          hide_password=False)


def _rate(records: int, result: dict[str, Any]) -> float:
    return records / result["seconds"]


async def bench_sync(settings: Settings, records: int, *, rounds: int = 1,
                     keep: bool = False, profile: Path | None = None) -> dict[str, Any]:
    """``profile``: write a cProfile of the Connectus side there (it slows that side)."""
    async with simulator(records) as starting, running(settings) as services:
        url = await starting
        register_own_sandbox(url)  # the one loopback URL the bench's integration may use
        caller = await _tenant(services)
        flows = await _flows(services, caller, url, rounds)
        datasets = [f"bench_dlt_{caller.tenant_id.hex[:8]}_{n}" for n in range(1, rounds + 1)]
        env = {**os.environ, "DATABASE_URL": services.db.url,
               "REDIS_URL": str(services.extras["redis_url"]),
               "CONNECTUS_DATA_DIR": str(settings.data_dir)}
        postgres = _dlt_credentials(services.db.url)
        results: list[dict[str, dict[str, Any]]] = []
        try:
            for flow, dataset in zip(flows, datasets, strict=True):
                config = {"url": url, "flow": flow, "dataset": dataset, "postgres": postgres,
                          "pipelines_dir": str(Path(settings.data_dir) / "bench" / "dlt")}
                one = {side: await asyncio.to_thread(_side, side, config, env, profile)
                       for side in SIDES}
                one["landed"] = await _landed(services, caller, flow, dataset)
                results.append(one)
        finally:
            if not keep:
                await _clean(services, caller, datasets)
    return summarise(records, results, keep=keep, tenant=str(caller.tenant_id),
                     flows=flows, datasets=datasets)


def summarise(records: int, results: list[dict[str, dict[str, Any]]], *, keep: bool,
              tenant: str, flows: list[str], datasets: list[str]) -> dict[str, Any]:
    for one in results:
        counts = {side: one[side]["records"] for side in SIDES} | {
            f"{side}_stored": n for side, n in one["landed"].items()}
        if set(counts.values()) != {records}:
            raise BenchFailed(f"a side did not move all {records} records: {counts}")
    rate = {side: statistics.median(_rate(records, one[side]) for one in results)
            for side in SIDES}
    peak = {side: max(one[side]["peak_rss_mb"] for one in results) for side in SIDES}
    out: dict[str, Any] = {
        "records": records,
        "records_per_s": round(rate["connectus"]),
        "dlt_records_per_s": round(rate["dlt"]),
        "fetch_only_records_per_s": round(rate["fetch"]),
        "ratio_vs_dlt": round(rate["connectus"] / rate["dlt"], 2),
        "ratio_vs_fetch_limit": round(rate["connectus"] / rate["fetch"], 3),
        "peak_rss_mb": peak["connectus"],
        "peak_rss_mb_by_side": peak,
        "start_rss_mb_by_side": {side: results[0][side]["start_rss_mb"] for side in SIDES},
        "seconds_by_side": {side: [one[side]["seconds"] for one in results] for side in SIDES},
        "cpu_s_by_side": {side: [one[side]["cpu_s"] for one in results] for side in SIDES},
        "stored": results[-1]["landed"],
        "rounds": len(results),
        "mapping": [m["target"] for m in MAPPINGS],
        "note": NOTE,
    }
    if keep:
        out["kept"] = {"tenant": tenant, "flows": flows, "dlt_datasets": datasets}
    return out
