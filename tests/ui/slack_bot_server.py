"""A live Connectus server for the Slack bot's tests, one per module: the Slack
simulator must POST its signed deliveries to a real URL.

It runs under uvicorn on a free loopback port in a thread of its own, with its own
event loop, database (cloned from the migrated template), Redis pool and the offline
model; ``run`` executes a coroutine on that loop, for a test to seed or read rows.
Seeded: a tenant whose Slack integration holds the simulator's bot token (its team is
learned from auth.test on the first event), a HubSpot integration with a flow, and an
owner with the e-mail of one sandbox Slack user.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from arq import create_pool

from agent.checkpoints import checkpointer
from jobs.constants import QUEUE_NAME
from jobs.worker import redis_settings
from store.accounts import Caller
from store.crypto import SecretBox
from store.db import Database
from store.models import Role
from store.settings import Settings
from tests.agent.conftest import hubspot_with_flow
from tests.conftest import make_tenant
from tools import integrations
from tools.context import Services
from ui.api.app import create_app

T = TypeVar("T")


class BotServer:
    def __init__(self, database_url: str, redis_url: str, secret_keys: list[str],
                 data_dir: Path, signing_secret: str) -> None:
        self.settings = Settings(database_url=database_url, redis_url=redis_url,
                                 data_dir=data_dir, secret_keys=tuple(secret_keys),
                                 slack_signing_secret=signing_secret)
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listening.getsockname()[1]}"
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.services: Services | None = None
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        assert self.settings.database_url and self.settings.redis_url
        self.loop = asyncio.get_running_loop()
        db = Database(self.settings.database_url)
        queue = await create_pool(redis_settings(self.settings.redis_url),
                                  default_queue_name=QUEUE_NAME)
        self.services = Services(settings=self.settings, db=db,
                                 vault=SecretBox(list(self.settings.secret_keys)), queue=queue)
        try:
            config = uvicorn.Config(create_app(self.services), log_level="warning")
            self.server = uvicorn.Server(config)
            self.ready.set()
            await self.server.serve(sockets=[self.listening])
        finally:
            self.ready.set()
            await queue.aclose()
            await db.dispose()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def __enter__(self) -> BotServer:
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


async def seed(services: Services, sandbox_url: str, owner_email: str) -> Caller:
    """The tenant the sandbox workspace belongs to; returns its owner."""
    owner, _ = await make_tenant(services, "slackco", Role.owner)
    async with services.db.transaction(owner.tenant_id) as session:
        from store.models import User

        user = await session.get(User, owner.user_id)
        assert user is not None
        user.email = owner_email.lower()
    await integrations.create_integration(services, owner, integrations.IntegrationCreate(
        provider="slack", name="Slack (sandbox)",
        credentials={"access_token": "xoxb-sandbox", "webhook_secret": "unused-here"},
        settings={"sandbox_url": sandbox_url, "channel": "C060000000"}))
    await hubspot_with_flow(services, owner, sandbox_url)
    # the checkpointer's tables made now: their first setup does not survive two at once
    async with checkpointer(services):
        pass
    return owner
