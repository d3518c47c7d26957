"""The embedded PostgreSQL and Redis keep their data across restarts and crashes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from redis import Redis

from store.embedded import EmbeddedServices
from tests.conftest import _libpq

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                reason="runs the embedded servers themselves")


def _write(database_url: str, redis_url: str) -> None:
    with psycopg.connect(_libpq(database_url, "connectus"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    Redis.from_url(redis_url).set("kept", "still here")


def _read(database_url: str, redis_url: str) -> tuple[list, bytes | None]:
    with psycopg.connect(_libpq(database_url, "connectus")) as conn:
        rows = conn.execute("SELECT v FROM kept").fetchall()
    return rows, Redis.from_url(redis_url).get("kept")


def _pid(path: Path) -> int:
    return int(path.read_text().splitlines()[0])


def test_data_survives_a_clean_restart(tmp_path: Path) -> None:
    services = EmbeddedServices(tmp_path, postgres=True, redis_=True)
    database_url, redis_url = services.start()
    _write(database_url, redis_url)
    services.stop()
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    again = EmbeddedServices(tmp_path, postgres=True, redis_=True)
    try:
        assert again.start() == (database_url, redis_url)
        assert _read(database_url, redis_url) == ([("still here",)], b"still here")
    finally:
        again.stop()


_START_AND_WRITE = """
import sys, time
from pathlib import Path
from store.embedded import EmbeddedServices
from tests.store.test_embedded import _write
urls = EmbeddedServices(Path(sys.argv[1]), postgres=True, redis_=True).start()
_write(*urls)
print("written", flush=True)
time.sleep(600)
"""


def test_a_crash_that_leaves_stale_servers_is_recovered(tmp_path: Path) -> None:
    # A process that started the servers and wrote data, then died with them: SIGKILL
    # everything, so pid files and sockets stay behind as after a power cut.
    owner = subprocess.Popen([sys.executable, "-c", _START_AND_WRITE, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "written"
        time.sleep(1.2)  # appendfsync everysec: let Redis reach the disk first
    finally:
        owner.kill()
        owner.wait()
    os.kill(_pid(tmp_path / "postgres" / "postmaster.pid"), signal.SIGKILL)
    os.kill(_pid(tmp_path / "redis" / "redis.pid"), signal.SIGKILL)
    time.sleep(0.5)
    assert (tmp_path / "postgres" / "postmaster.pid").exists()
    assert (tmp_path / "redis" / "redis.pid").exists()

    again = EmbeddedServices(tmp_path, postgres=True, redis_=True)
    try:
        database_url, redis_url = again.start()
        assert _read(database_url, redis_url) == ([("still here",)], b"still here")
    finally:
        again.stop()
    # and a clean stop after the recovery stops everything: no server is left behind
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    assert not (tmp_path / "redis" / "redis.sock").exists()


_SHARE_AND_LEAVE = """
import sys
from pathlib import Path
from store.embedded import EmbeddedServices
services = EmbeddedServices(Path(sys.argv[1]), postgres=True, redis_=True)
services.start()
services.stop()
"""


def test_a_second_user_leaving_does_not_stop_the_servers_of_the_first(tmp_path: Path) -> None:
    # `connectus up` in one terminal, `connectus sync` in another: the sync's clean exit
    # must leave up's PostgreSQL and Redis running; the last one out stops them.
    services = EmbeddedServices(tmp_path, postgres=True, redis_=True)
    database_url, redis_url = services.start()
    try:
        _write(database_url, redis_url)
        subprocess.run([sys.executable, "-c", _SHARE_AND_LEAVE, str(tmp_path)], check=True,
                       timeout=120)
        assert _read(database_url, redis_url) == ([("still here",)], b"still here")
    finally:
        services.stop()
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    assert not (tmp_path / "redis" / "redis.sock").exists()
