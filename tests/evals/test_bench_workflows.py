"""`connectus bench workflows` end to end for two seconds, through the real CLI entry: one
JSON object with the figures, every accepted event run once (redeliveries included), and
the runs, CRM contacts and counters really in the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

KEYS = ("executions_per_s", "p50_ingress_ms", "p99_ingress_ms", "lost", "duplicated",
        "events", "workers", "n8n_anchor", "ratio_vs_n8n", "note")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_bench_workflows_runs_every_event_once_and_prints_one_json_object(
        database_url: str, redis_url: str, secret_keys: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CONNECTUS_DATA_DIR": str(tmp_path), "CONNECTUS_SECRET_KEYS": secret_keys[0]}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "workflows", "--seconds",
                           "2", "--rate", "20", "--events-per-delivery", "2", "--workers", "1",
                           "--redeliveries", "0.15", "--keep", "--json"], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for key in KEYS:
        assert key in result, key
    events = result["events"]
    assert result["events_per_delivery"] == 2 and events > result["deliveries"] / 2
    assert events > 0 and result["redeliveries"] > 0  # the second delivery repeats the first
    assert result["lost"] == 0 and result["duplicated"] == 0, result
    assert result["runs"] == {"runs": events, "succeeded": events, "failed": 0,
                              "unfinished": 0}
    assert result["slack_messages"] == events and result["crm_contacts"] == events
    assert result["executions_per_s"] > 0 and result["p99_ingress_ms"] >= result[
        "p50_ingress_ms"] > 0

    kept = result["kept"]
    tenant, workflow = uuid.UUID(kept["tenant"]), uuid.UUID(kept["workflow"])
    with psycopg.connect(_libpq(database_url)) as connection:
        runs = connection.execute(
            "SELECT count(*), count(DISTINCT webhook_event_id) FROM workflow_runs "
            "WHERE workflow_id = %s AND status = 'succeeded'", (workflow,)).fetchone()
        contacts = connection.execute(
            "SELECT count(*), count(DISTINCT email) FROM crm_contacts WHERE tenant_id = %s",
            (tenant,)).fetchone()
        counts = connection.execute(
            "SELECT execution_count, success_count FROM workflow_automations WHERE id = %s",
            (workflow,)).fetchone()
    assert runs == (events, events)
    assert contacts == (events, events)
    assert counts == (events, events)  # each run counted once
