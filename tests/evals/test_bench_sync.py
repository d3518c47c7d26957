"""`connectus bench sync` end to end at a small N, through the real CLI entry: one JSON
object with the figures, and the records really in synced_records and in dlt's table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

RECORDS = 300


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_bench_sync_prints_one_json_object_and_moves_every_record(
        database_url: str, redis_url: str, secret_keys: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CONNECTUS_DATA_DIR": str(tmp_path), "CONNECTUS_SECRET_KEYS": secret_keys[0]}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "sync", "--records",
                           str(RECORDS), "--keep", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for key in ("records_per_s", "dlt_records_per_s", "fetch_only_records_per_s",
                "ratio_vs_dlt", "ratio_vs_fetch_limit", "peak_rss_mb", "note"):
        assert key in result, key
    assert result["records"] == RECORDS and result["stored"] == {"connectus": RECORDS,
                                                                 "dlt": RECORDS}
    assert result["ratio_vs_dlt"] > 0 and result["peak_rss_mb"] > 0
    assert "lifted" in result["note"]

    kept = result["kept"]
    [flow] = kept["flows"]
    [dataset] = kept["dlt_datasets"]
    with psycopg.connect(_libpq(database_url)) as connection:
        ours = connection.execute(
            "SELECT count(*), count(DISTINCT external_id), min(data->>'email') "
            "FROM synced_records WHERE data_flow_id = %s", (uuid.UUID(flow),)).fetchone()
        theirs = connection.execute(
            f'SELECT count(*), count(DISTINCT id) FROM "{dataset}".contacts').fetchone()
        run = connection.execute(
            "SELECT status, records_read, records_written FROM sync_runs "
            "WHERE data_flow_id = %s", (uuid.UUID(flow),)).fetchone()
    assert ours is not None and ours[:2] == (RECORDS, RECORDS)
    assert ours[2] == ours[2].lower() and "@" in ours[2]  # mapped: e-mail normalised
    assert theirs == (RECORDS, RECORDS)
    assert run == ("succeeded", RECORDS, RECORDS)
