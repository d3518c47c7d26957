"""The browser harness: one live Connectus (`connectus up` on ephemeral ports, with the
sandbox and the demo tenant, on a database of its own) and one headless Chromium for the
whole session; a fresh browser context per test.

The browser is Debian's `chromium` (never a download: `playwright install` needs the
network). Missing, these tests skip with how to install it; under CI=true they fail.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from cryptography.fernet import Fernet

from tests.conftest import TEMPLATE, _create_database, _drop_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CONNECTUS_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / ".screenshots"
DEMO_EMAIL = "owner@demo.connectus.local"
DEMO_PASSWORD = "browser-test-password"
LIVE_REDIS_DB = 7  # not the db the other tests flush between tests
START_TIMEOUT_S = 240
# this machine's network is closed: nothing that would try to reach out
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = (f"no Chromium at {CHROMIUM}: install Debian's package "
               "(`sudo apt-get install -y chromium`) or set CONNECTUS_CHROMIUM")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Live:
    url: str
    database_url: str
    api_key: str
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return list(conn.execute(sql, args or None).fetchall())  # type: ignore[arg-type]


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=f"db={db}"))
    return urlunsplit(parts._replace(path=f"/{db}"))


def _read_banner(process: subprocess.Popen[str], log: list[str]) -> dict[str, str]:
    """Wait for `connectus up` to print where it is, up to START_TIMEOUT_S."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while "key" not in found:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("connectus up did not start:\n" + "".join(log[-60:]))
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            continue
        line = process.stdout.readline()
        log.append(line)
        if match := re.search(r"Connectus is up at (http://\S+)", line):
            found["url"] = match.group(1)
        elif match := re.search(r"demo API key\s+(\S+)", line):
            found["key"] = match.group(1)
    return found


def _drain(process: subprocess.Popen[str], log: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line)
        del log[:-200]


@pytest.fixture(scope="package")
def chromium_binary() -> Path:
    """First of all, so that a machine without the browser starts nothing for it."""
    _require_browser()
    return CHROMIUM


@pytest.fixture(scope="package")
def live(chromium_binary: Path, server_url: str, template_url: str, redis_server_url: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    name, database_url = _create_database(server_url, TEMPLATE)
    env = {**os.environ, "DATABASE_URL": database_url,
           "REDIS_URL": _redis_db(redis_server_url, LIVE_REDIS_DB),
           "CONNECTUS_DATA_DIR": str(tmp_path_factory.mktemp("live")),
           "CONNECTUS_SECRET_KEYS": Fernet.generate_key().decode(),
           "CONNECTUS_DEMO_PASSWORD": DEMO_PASSWORD, "PYTHONUNBUFFERED": "1"}
    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CONNECTUS_MODEL",
                     "CHAINLIT_AUTH_SECRET", "CONNECTUS_DEMO_API_KEY"):
        env.pop(variable, None)  # the offline model, and secrets of this run's own
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "up", "--port", "0", "--sandbox-port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    try:
        banner = _read_banner(process, log)
        # keep reading what it prints: a full pipe would stop the server mid-write
        threading.Thread(target=_drain, args=(process, log), daemon=True).start()
        yield Live(url=banner["url"], database_url=database_url, api_key=banner["key"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _drop_database(server_url, name)


@pytest.fixture(scope="package")
def browser(live: Live) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed and "page" in getattr(item, "funcargs", {}):
        shot(item.funcargs["page"], f"failed-{item.name}")  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, live: Live) -> Iterator[object]:
    """A fresh context (no cookies, so not logged in); only the live server is reached,
    so the page never waits on fonts from the internet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(45_000)  # a shared 2-core machine is slow at times
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(live.url) else route.abort())
    page = context.new_page()
    yield page
    context.close()


def shot(page: object, name: str) -> Path:
    """Save a screenshot under .screenshots/ (git-ignored) and print where."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(f"screenshot: {path}")
    return path
