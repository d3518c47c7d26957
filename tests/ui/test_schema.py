"""The OpenAPI document is true: a bounded schemathesis run with every check finds no
server error and no conformance failure (issue 6 §1.11).

The app runs under uvicorn on a free loopback port in a thread of its own (its own
event loop, database engine and Redis pool), with a tenant and an owner's API key.
Excluded, and why:
- ``test_connection`` calls out to whatever ``settings.base_url`` a generated
  integration names: a fuzzer must not make this machine send requests to
  arbitrary addresses.
- the agent's ask and confirmation routes, while this installation has no agent model
  (``agent/model.py``): without one they can only answer that there is none.
- changing or removing a user, and revoking a key: the run's own key is an owner's, and a
  generated call could demote or remove that owner (after creating another) or revoke the
  very key it sends, and every later call would be a 401 or 403 (tests/ui/test_accounts.py
  covers them). Listing and creating users and keys stay in.
The webhook routes stay in: they take no API key but a provider's signature, so
generated deliveries are answered 404 (a made-up integration id) or 401 (an
integration the stateful phase created, but no valid signature: schemathesis
warns "only 401"), and the status, Allow and schema checks still apply to them.
The stateful phase creates integrations and follows their ids through get,
update and delete.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from arq import create_pool

from jobs.constants import QUEUE_NAME
from jobs.worker import redis_settings
from store.crypto import SecretBox
from store.db import Database
from store.settings import Settings
from tests.conftest import make_tenant
from tools.context import Services
from ui.api.app import create_app

MAX_EXAMPLES = 15
# the agent's doors answer only once there is a model to answer with (agent/model.py)
KEEPS_ITS_KEY = r"|/integrations/users/\{user_id\}/|/integrations/api-keys/\{key_id\}/revoke/"
EXCLUDED = ("test_connection" if importlib.util.find_spec("agent.model") else
            "test_connection|/integrations/connectus/(ask_connectus|confirmations)") \
    + KEEPS_ITS_KEY
CONFIG = """\
[checks.positive_data_acceptance]
# What a schema cannot say: which provider names exist and which credentials each
# provider requires are rules across fields and rows; they answer 422 naming the field.
# A fuzzer asks faster than CONNECTUS_ASK_RATE_LIMIT allows: ask_connectus answers 429.
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# The account, audit, policy and metrics routes are plain reads and writes with their own
# tests (docs/rest.md): fewer generated examples each keep the run inside its time.
[[operations]]
include-tag = "accounts"
generation.max-examples = 5

[[operations]]
include-path-regex = "^/(metrics|integrations/connectus/(agent_policy|confirmations)/)$"
generation.max-examples = 5

# Their lists' query parameters are plain filters: the coverage phase's boundary values
# for each one add more cases than they find (the bodies they take keep the phase).
# (includes are or-ed, excludes and-ed: a path, less its POST, is "these GETs")
[[operations]]
include-path-regex = "^/(metrics|integrations/(users|api-keys|audit-log|connectus/confirmations)/)$"
exclude-method = "POST"
phases.coverage.enabled = false
"""


class LiveServer:
    def __init__(self, database_url: str, redis_url: str, secret_keys: list[str],
                 data_dir: Path) -> None:
        self.settings = Settings(database_url=database_url, redis_url=redis_url,
                                 data_dir=data_dir, secret_keys=tuple(secret_keys))
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listening.getsockname()[1]}"
        self.ready = threading.Event()
        self.api_key = ""
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        assert self.settings.database_url and self.settings.redis_url
        db = Database(self.settings.database_url)
        queue = await create_pool(redis_settings(self.settings.redis_url),
                                  default_queue_name=QUEUE_NAME)
        services = Services(settings=self.settings, db=db,
                            vault=SecretBox(list(self.settings.secret_keys)), queue=queue)
        try:
            _, self.api_key = await make_tenant(services, "schema")
            config = uvicorn.Config(create_app(services), log_level="warning")
            self.server = uvicorn.Server(config)
            self.ready.set()
            await self.server.serve(sockets=[self.listening])
        finally:
            self.ready.set()
            await queue.aclose()
            await db.dispose()

    def __enter__(self) -> LiveServer:
        self.thread.start()
        assert self.ready.wait(60)
        while self.server is not None and not self.server.started:
            assert self.thread.is_alive()
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def live(database_url: str, redis_url: str, secret_keys: list[str],
         tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(database_url, redis_url, secret_keys, tmp_path) as server:
        yield server


def test_schemathesis_finds_no_server_error_and_no_conformance_failure(
        live: LiveServer, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.ndjson"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{live.url}/openapi.json", "--checks", "all", "--max-examples", str(MAX_EXAMPLES),
         "--seed", "6", "--header", f"Authorization: Bearer {live.api_key}",
         "--exclude-path-regex", EXCLUDED,
         "--phases", "examples,coverage,fuzzing,stateful",
         "--request-timeout", "20", "--workers", "1", "--no-color",
         "--report", "ndjson", "--report-ndjson-path", str(report)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)  # its cache stays there
    took = time.monotonic() - started
    summary = result.stdout[-6000:]
    print(summary, f"\nschemathesis took {took:.0f} s")
    assert result.returncode == 0, summary + result.stderr[-3000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert counted and counted[1] == counted[2] and int(counted[1]) > 100, summary
    assert "failure" not in result.stdout.split("SUMMARY")[-1].lower(), summary
    assert report.exists() and any(json.loads(line) for line in report.open())


async def test_the_schema_declares_errors_in_the_error_shape(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    create = spec["paths"]["/integrations/integrations/"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "422"} <= set(create)
    assert create["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    one = spec["paths"]["/integrations/integrations/{integration_id}/"]
    assert {"401", "404"} <= set(one["get"]["responses"])
    assert {"401", "403", "404"} <= set(one["delete"]["responses"])


async def test_optional_update_fields_are_not_nullable(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    update = spec["components"]["schemas"]["IntegrationUpdate"]["properties"]
    for name, field in update.items():
        assert "anyOf" not in field and field.get("type") != "null", name
        assert "default" not in field, name


@pytest.mark.parametrize(("path", "methods"), [
    ("/integrations/webhooks/00000000-0000-0000-0000-000000000000/", "GET, POST"),
    ("/integrations/integrations/00000000-0000-0000-0000-000000000000/",
     "DELETE, GET, PATCH"),
])
async def test_a_405_allows_every_method_of_the_path(api, path: str, methods: str) -> None:
    response = await api.options(path)
    assert response.status_code == 405
    assert response.headers["allow"] == methods
