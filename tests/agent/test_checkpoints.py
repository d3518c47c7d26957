"""The checkpointer's own tables are made on first use; two first uses at once (two
questions to a fresh install) must both work."""

from __future__ import annotations

import asyncio

from agent import checkpoints
from tools.context import Services


async def _first_use(services: Services) -> None:
    async with checkpoints.checkpointer(services) as saver:
        await saver.aget_tuple({"configurable": {"thread_id": "nobody"}})


async def test_first_uses_at_once_on_a_fresh_database_all_succeed(services: Services) -> None:
    checkpoints._set_up.discard(checkpoints.libpq_url(services.db.url))
    await asyncio.gather(*(_first_use(services) for _ in range(4)))
