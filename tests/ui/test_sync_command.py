"""`connectus sync FLOW` runs a flow in the foreground, no worker, and sums it up."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.jobs.conftest import make_flow
from tools.context import Services


def _sync(services: Services, secret_keys: list[str], tmp_path: Path,
          *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": services.settings.database_url or "",
           "REDIS_URL": services.settings.redis_url or "", "CONNECTUS_DATA_DIR": str(tmp_path),
           "CONNECTUS_SECRET_KEYS": ",".join(secret_keys),
           # the sandbox is this test process's, not the command's own
           "CONNECTUS_ALLOW_PRIVATE_URLS": "1"}
    return subprocess.run([sys.executable, "-m", "ui.cli", "sync", *args], env=env,
                          capture_output=True, text=True, timeout=120)


async def test_sync_command_runs_a_flow_by_name_and_prints_its_run(
        services: Services, sandbox: Any, secret_keys: list[str], tmp_path: Path) -> None:
    flow = await make_flow(services, sandbox.url, contacts=150, sandbox=sandbox)
    done = await asyncio.to_thread(_sync, services, secret_keys, tmp_path, "Contacts Sync",
                                   "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "succeeded" and run["records_written"] == 150
    assert await flow.count() == 150
    again = await asyncio.to_thread(_sync, services, secret_keys, tmp_path, str(flow.id))
    assert again.returncode == 0, again.stderr
    assert "succeeded" in again.stdout and "unchanged" in again.stdout
    missing = await asyncio.to_thread(_sync, services, secret_keys, tmp_path, "No Such Flow")
    assert missing.returncode == 1 and "no data flow 'No Such Flow'" in missing.stderr
