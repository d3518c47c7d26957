"""`connectus up` from nothing: serves /healthz and the catalogue, and Ctrl-C stops it all."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.server import free_port

DEMO_KEY = "cx_fixed-demo-key-for-the-up-test"


def test_up_serves_the_demo_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CONNECTUS_DATA_DIR": str(tmp_path / "data"),
           "CONNECTUS_DEMO_API_KEY": DEMO_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "up", "--port", str(port),
         "--sandbox-port", str(free_port())],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "connectus up did not start serving"
                time.sleep(0.3)
        assert health.status_code == 200
        assert health.json()["checks"]["database"] == "ok"
        assert health.json()["checks"]["queue"] == "ok"
        auth = {"Authorization": f"Bearer {DEMO_KEY}"}
        providers = httpx.get(f"{base}/integrations/providers/", headers=auth).json()
        assert len(providers) == 7
        integrations = httpx.get(f"{base}/integrations/integrations/", headers=auth).json()
        assert sorted(i["provider"] for i in integrations) == sorted(p["name"] for p in providers)
        for integration in integrations:
            tested = httpx.post(
                f"{base}/integrations/integrations/{integration['id']}/test_connection/",
                headers=auth, timeout=30).json()
            assert tested["ok"] is True, (integration["provider"], tested)
        # a second terminal on the same data dir: `connectus sync` trusts up's sandbox and
        # leaves up's Redis and PostgreSQL running when it exits
        hubspot = next(i for i in integrations if i["provider"] == "hubspot")
        created = httpx.post(f"{base}/integrations/data-flows/", headers=auth, json={
            "integration": hubspot["id"], "name": "Contacts Sync", "direction": "inbound",
            "stream": "contacts", "source_fields": ["email", "firstname", "lastname"],
            "target_fields": ["email", "firstName", "lastName"], "sync_frequency": "daily"})
        assert created.status_code == 201, created.text
        synced = subprocess.run([sys.executable, "-m", "ui.cli", "sync", "Contacts Sync",
                                 "--json"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert '"succeeded"' in synced.stdout, synced.stdout
        after = httpx.get(f"{base}/healthz", timeout=5).json()
        assert after["checks"]["queue"] == "ok", after
        # MCP is on the same server, behind the same keys (tests/mcp/ goes further)
        assert httpx.post(f"{base}/mcp", json={}, timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert DEMO_KEY in output  # the key is printed for the person who ran it
    assert f"{base}/mcp" in output  # and where MCP clients connect
    if not os.environ.get("DATABASE_URL"):
        assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists(), output
    if not os.environ.get("REDIS_URL"):
        assert not (tmp_path / "data" / "redis" / "redis.sock").exists(), output


@pytest.mark.parametrize(("busy", "flag", "make_var"), [("web", "--port", "PORT"),
                                                        ("sandbox", "--sandbox-port",
                                                         "SANDBOX_PORT")])
def test_a_busy_port_is_one_line_before_anything_is_seeded(tmp_path: Path, busy: str,
                                                           flag: str, make_var: str) -> None:
    """Binding comes first: no banner, no demo key issued (which would revoke the last one),
    no traceback; one line naming the port and the flag, and a non-zero exit."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        ports = {"web": free_port(), "sandbox": free_port(), busy: busy_port}
        result = subprocess.run(
            [sys.executable, "-m", "ui.cli", "up", "--port", str(ports["web"]),
             "--sandbox-port", str(ports["sandbox"])],
            env={**os.environ, "CONNECTUS_DATA_DIR": str(tmp_path / "data")},
            capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output and "demo API key" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert str(busy_port) in lines[0] and flag in lines[0] and f"{make_var}=" in lines[0]
    assert not (tmp_path / "data" / "postgres").exists()  # nothing was started
