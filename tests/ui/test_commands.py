"""`connectus serve`, `worker` and `migrate` against the session's real PostgreSQL and Redis."""

import os
import signal
import subprocess
import sys
import time

import httpx
from redis import Redis

from connectors.sandbox.server import free_port
from jobs.constants import HEARTBEAT_KEY


def _env(database_url: str, redis_url: str, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "CONNECTUS_DATA_DIR": str(tmp_path)}


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    return output


def test_migrate_is_idempotent(database_url, redis_url, tmp_path) -> None:
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "ui.cli", "migrate"],
                                env=_env(database_url, redis_url, tmp_path),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "database at head" in result.stdout


def test_worker_starts_and_beats(database_url, redis_url, tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "worker"],
                            env=_env(database_url, redis_url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while Redis.from_url(redis_url).get(HEARTBEAT_KEY) is None:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no heartbeat from the worker"
            time.sleep(0.2)
    finally:
        output = _stop(proc)
    assert "Starting worker" in output


def test_serve_answers_healthz(database_url, redis_url, tmp_path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
                            env=_env(database_url, redis_url, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert health.json()["checks"]["database"] == "ok"
        assert health.json()["checks"]["worker"] == "no heartbeat yet"
        hook = (f"http://127.0.0.1:{port}/integrations/webhooks/"
                "00000000-0000-0000-0000-000000000000/?secret=top-secret-value")
        assert httpx.post(hook, timeout=5).status_code == 404
    finally:
        output = _stop(proc)
    assert "/integrations/webhooks/" in output and "secret=[redacted]" in output
    assert "top-secret-value" not in output
    assert not (tmp_path / "postgres").exists()  # URLs set: nothing embedded started
    assert not (tmp_path / "redis").exists()
