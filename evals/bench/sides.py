"""The three sides of ``connectus bench sync``, each run in a process of its own.

``python -m evals.bench.sides SIDE CONFIG_JSON`` reads every contact from the simulator
at ``CONFIG.url`` one way and prints one JSON line: ``{records, seconds, cpu_s,
peak_rss_mb, start_rss_mb}``. A process per side, so each side's peak memory is its own
(VmHWM) and no side pays for another's imports or garbage.

- ``connectus``: the flow ``CONFIG.flow`` run by the real sync engine, as ``connectus
  sync`` runs it (claim, lease, checkpoints, mapping, upserts into ``synced_records``).
- ``dlt``: dlt's ``rest_api`` source on the same endpoint, loading into ``CONFIG.dataset``
  of the same PostgreSQL.
- ``fetch``: the same pages read by a plain httpx loop and thrown away
  (``evals.read_overhead.fetch_only``): the fetch-only limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from evals.read_overhead import FIELDS, LIFTED, PAGE, fetch_only


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _peak_rss_mb() -> float:
    """The process's high-water RSS. VmHWM, not ``ru_maxrss``: after fork and exec
    ``ru_maxrss`` still holds the parent's peak, VmHWM belongs to this program alone."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def connectus(config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from tools.context import Settings
    from tools.runtime import running
    from tools.syncs import find_flow, run_in_foreground

    async with running(Settings.from_env(), migrate=False) as services:
        flow = await find_flow(services, config["flow"])
        run = await run_in_foreground(services, flow)
    if run.status != "succeeded":
        raise SystemExit(f"the Connectus run ended {run.status}: {run.error}")
    return run.records_read, {"written": run.records_written, "failed": run.records_failed}


def dlt_side(config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source({
        "client": {
            "base_url": f"{config['url']}/hubspot/crm/v3/",
            "auth": {"type": "bearer", "token": "sandbox"},
            "paginator": {"type": "cursor", "cursor_path": "paging.next.after",
                          "cursor_param": "after"},
        },
        # the same semantics as the Connectus side: an upsert keyed by the record's id
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [{
            "name": "contacts",
            "endpoint": {"path": "objects/contacts", "data_selector": "results",
                         "params": {"properties": FIELDS, "archived": "false",
                                    "limit": PAGE}},
        }],
    })
    pipeline = dlt.pipeline(
        pipeline_name=config["dataset"], pipelines_dir=config["pipelines_dir"],
        destination=dlt.destinations.postgres(credentials=config["postgres"]),
        dataset_name=config["dataset"])
    info = pipeline.run(source)
    info.raise_on_failed_jobs()
    loaded = pipeline.last_trace.last_normalize_info.row_counts.get("contacts", 0) \
        if pipeline.last_trace and pipeline.last_trace.last_normalize_info else 0
    return int(loaded), {}


async def fetch(config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    count, _, _ = await fetch_only(config["url"])
    return count, {}


def prepare(side: str, config: dict[str, Any]) -> None:
    """What is not measured: imports, and lifting the integration's budget."""
    # what httpx and SQLAlchemy import on first use, not at their own import (httpx's
    # transport, psycopg): on every side alike, as all the rest of their imports
    import anyio._backends._asyncio  # noqa: F401
    import certifi  # noqa: F401
    import h11  # noqa: F401
    import httpcore  # noqa: F401
    if side == "connectus":
        import psycopg.rows  # noqa: F401

        import connectors.providers.hubspot as hubspot
        import tools.syncs  # noqa: F401
        from tools.runtime import register_own_sandbox

        # the integration's budget, lifted as the simulator's limits are: its Lua round
        # trip per call is still paid, only its ceilings are out of reach (as in
        # read_overhead)
        hubspot.SPEC = replace(hubspot.SPEC, rate_limit=LIFTED)
        register_own_sandbox(config["url"])  # the bench's own simulator, as `up` does
        import jobs.mapping.rules  # noqa: F401  (the rules' libraries load on first use)
    elif side == "dlt":
        import dlt.destinations
        import dlt.sources.rest_api  # noqa: F401


def measure(side: str, config: dict[str, Any]) -> dict[str, Any]:
    prepare(side, config)
    start_rss = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    if side == "connectus":
        count, extra = asyncio.run(connectus(config))
    elif side == "dlt":
        count, extra = dlt_side(config)
    elif side == "fetch":
        count, extra = asyncio.run(fetch(config))
    else:
        raise SystemExit(f"no side {side!r}: connectus, dlt or fetch")
    seconds = time.perf_counter() - started
    return {"side": side, "records": count, "seconds": round(seconds, 3),
            "cpu_s": round(time.process_time() - cpu, 3), "start_rss_mb": start_rss,
            "peak_rss_mb": _peak_rss_mb(), **extra}


def main() -> None:
    side, config = sys.argv[1], json.loads(sys.argv[2])
    Path(config.get("pipelines_dir") or ".").mkdir(parents=True, exist_ok=True)
    sys.stdout.write(json.dumps(measure(side, config)) + "\n")


if __name__ == "__main__":
    main()
