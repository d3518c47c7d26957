"""Coalescing many concurrent callers' small writes into one statement.

A ``Coalescer`` takes items from any number of tasks (``await coalescer.submit(item)``)
and hands them to its ``flush`` function in batches: a batch goes when it holds
``max_items``, or once every task that was ready has had its turn (the flush is scheduled
with ``call_soon``, so callers that arrive in the same loop iteration share it) and then
``linger_s`` more. Each caller gets its own item's result, or the exception raised for it.

Why: on a shared 2-core machine a statement costs less in round trips and wake-ups than
in work, so fifty runs saving their steps in one UPDATE cost little more than one. The
caller still waits for its own write to be durable, so nothing is acknowledged early.

``flush`` returns one result per item, in order, each a value or an exception; if it
raises, every item of the batch gets that exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

Flush = Callable[[list[Item]], Awaitable[list["Result | BaseException"]]]


class Coalescer(Generic[Item, Result]):
    def __init__(self, flush: Flush[Item, Result], *, max_items: int = 100,
                 linger_s: float = 0.0) -> None:
        self._flush, self.max_items, self.linger_s = flush, max_items, linger_s
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # how many flushes ran, for the curious (and the tests)
        self.items = 0

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_items:
            self._go()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._later)
        return await future

    def _later(self) -> None:
        if self.linger_s > 0 and self._pending:
            asyncio.get_running_loop().call_later(self.linger_s, self._go)
        else:
            self._go()

    def _go(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a flush returned {len(results)} results for "
                                   f"{len(batch)} items")
        except BaseException as exc:  # every caller of the batch learns of it
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
