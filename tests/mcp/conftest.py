"""One live Connectus web app for the whole package, on an OS-chosen port, over a database of
its own holding the demo tenant (its sandbox integrations and history) and a
second tenant; and MCP client sessions against it, as other agents connect."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from arq import create_pool
from cryptography.fernet import Fernet
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from connectors.sandbox.server import SandboxServer
from jobs.constants import QUEUE_NAME
from jobs.worker import redis_settings
from store.accounts import Caller, create_user, issue_api_key
from store.crypto import SecretBox
from store.db import Database
from store.models import Role
from store.settings import Settings
from tests.conftest import TEMPLATE, _create_database, _drop_database, make_tenant
from tools.context import Services
from tools.demo import seed_demo, seed_sandbox_integrations
from tools.demo_history import seed_demo_history
from ui.api.app import create_app


@dataclass
class Live:
    url: str  # the web app's base URL
    services: Services
    demo: Caller
    owner_key: str
    viewer_key: str
    member_key: str
    other: Caller  # another tenant's owner
    other_key: str
    database_url: str
    redis_url: str
    secret_key: str

    @property
    def mcp(self) -> str:
        return f"{self.url}/mcp"


@pytest.fixture(scope="package")
def module_database(server_url: str, template_url: str) -> Iterator[str]:
    name, url = _create_database(server_url, TEMPLATE)
    yield url
    _drop_database(server_url, name)


@pytest.fixture(scope="package")
async def live(module_database: str, redis_server_url: str, sandbox_server: SandboxServer,
               tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    secret = Fernet.generate_key().decode()
    settings = Settings(database_url=module_database, redis_url=redis_server_url,
                        data_dir=Path(tmp_path_factory.mktemp("mcp")), secret_keys=(secret,))
    db = Database(module_database)
    queue = await create_pool(redis_settings(redis_server_url), default_queue_name=QUEUE_NAME)
    services = Services(settings=settings, db=db, vault=SecretBox([secret]), queue=queue)
    demo = await seed_demo(services, "cx_demo_fixed_key_for_mcp_tests")
    await seed_sandbox_integrations(services, demo, sandbox_server.url)
    await seed_demo_history(services, demo.tenant.id, demo.owner.id)
    async with db.transaction(None) as session:
        viewer = await create_user(session, demo.tenant.id, "viewer@demo.example", Role.viewer)
        viewer_key = await issue_api_key(session, viewer)
        member = await create_user(session, demo.tenant.id, "member@demo.example", Role.member)
        member_key = await issue_api_key(session, member)
    other, other_key = await make_tenant(services, "globex")

    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning",
                                           lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        assert not serving.done(), "the web app did not start"
        await asyncio.sleep(0.02)
    owner = Caller(tenant_id=demo.tenant.id, user_id=demo.owner.id, role=demo.owner.role,
                   email=demo.owner.email)
    try:
        yield Live(f"http://127.0.0.1:{port}", services, owner, demo.api_key, viewer_key,
                   member_key, other, other_key, module_database, redis_server_url, secret)
    finally:
        server.should_exit = True
        await serving
        listening.close()
        await queue.aclose()
        await db.dispose()


@asynccontextmanager
async def mcp_session(url: str, key: str, **callbacks: Any) -> AsyncIterator[ClientSession]:
    """An official MCP client session over streamable HTTP, with this bearer key."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"},
                                  timeout=60) as http, \
            streamable_http_client(url, http_client=http) as (reading, writing), \
            ClientSession(reading, writing, **callbacks) as session:
        await session.initialize()
        yield session
