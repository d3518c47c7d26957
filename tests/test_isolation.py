"""Two test runs on one machine must not break each other. pytest's shared numbered
temporary dirs keep only the last three, so later runs used to delete an earlier run's
embedded PostgreSQL (socket and data) from under it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import TEMPLATE, _create_database, _drop_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="needs the embedded server")
def test_later_runs_leave_this_runs_postgres_alone(database_url: str,
                                                   server_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    for _ in range(4):  # more than pytest keeps of its numbered dirs
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/store/test_crypto.py::test_key_file_is_created_once_and_private"],
            cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:]
    with psycopg.connect(database_url) as conn:  # a new connection: the socket is still there
        assert conn.execute("SELECT count(*) FROM integration_providers").fetchone() == (7,)
    # and its data directory: the next test's fresh database is a copy of the template
    name, _ = _create_database(server_url, TEMPLATE)
    _drop_database(server_url, name)
