"""One inbound run of a flow: connector pages -> mapping -> batched upsert, checkpointed.
(Outbound and both-ways flows run through ``jobs.sync.outbound`` and
``jobs.sync.both_ways``, with this engine's database, lease and progress hook.)

Each page is one batch and one transaction: its records, its dead letters, the
run's counts, the newest cursor seen and the next page's request (the
connector's serialisable checkpoint) commit together or not at all. A worker
killed between batches leaves the run at its last commit; whoever takes the
run over asks the connector for exactly that next page, so nothing is lost and
nothing is counted twice.

Three things overlap: the next pages are fetched while this one is mapped, and this one
is mapped while the last one commits. Commits still happen one at
a time and in order, each with its own checkpoint, so none of the above changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from connectors.cursors import to_iso
from connectors.http import Attempts
from connectors.request import dig
from connectors.results import Page
from connectors.spec import Stream
from jobs.connecting import open_connector
from jobs.mapping import Mapper, compile_mappings, parse_mappings
from jobs.mapping.salt import tenant_salt
from jobs.sync import contracts, runs
from jobs.sync.records import (
    EXTERNAL_ID_LENGTH,
    BatchRun,
    Rejected,
    Row,
    canonical,
    text_hash,
    write_batch,
)
from store.crypto import SecretBox
from store.db import Database
from store.direct import held_statement
from store.errors import ValidationFailed
from store.models import DataFlow, Integration, SyncRun
from store.queries import load_integration

# A batch's commit does not wait for its WAL flush. Its rows and its checkpoint are one
# transaction, and PostgreSQL loses async commits only as a suffix, in order: a server
# crash can take back the last few batches, rows and checkpoints together, and the run
# resumes from the checkpoint that survived with nothing lost or doubled. The run's end
# (runs.finish) commits as usual, and that flush makes every batch before it durable.
# Waiting for one flush per page cost more than the page's own work on a busy disk.
# (records.write_batch sets it, in the batch's one statement: no round trip of its own.)
# Every page commits on one connection held for the run (``Database.held_connection``).


@dataclass
class Batch:
    """What one page did, as the progress hook sees it."""

    read: int
    written: int
    unchanged: int
    failed: int
    cursor: str | None


BatchHook = Callable[[Batch], Awaitable[None] | None]


@dataclass
class Engine:
    db: Database
    vault: SecretBox
    redis: Redis
    owner: str
    lease_s: float
    allow_private: bool = False
    on_batch: BatchHook | None = None
    attempts: Attempts | None = None  # the connector's own retries within one call

    async def run(self, run: SyncRun) -> SyncRun:
        """Read the flow from the run's checkpoint to its last page and finish the run.
        Failures propagate for ``jobs.sync.failures.settle`` to class and record."""
        async with self.db.transaction(run.tenant_id) as session:
            flow = await session.get(DataFlow, run.data_flow_id)
            if flow is None:
                raise ValidationFailed(f"data flow {run.data_flow_id} no longer exists")
            integration, provider = await load_integration(session, flow.integration_id)
        if flow.direction != "inbound":
            return await self._run_directed(run, flow, integration, provider)
        if not flow.stream:
            raise ValidationFailed("the flow names no stream to read", field="stream")
        mapper = compile_mappings(parse_mappings(
            flow.mappings, source_fields=flow.source_fields, target_fields=flow.target_fields,
            rules=flow.transformation_rules), salt=tenant_salt(self.vault, run.tenant_id))
        renewer = asyncio.create_task(self._keep_lease(run))
        try:
            async with open_connector(self.db, self.vault, self.redis, integration, provider,
                                      allow_private=self.allow_private,
                                      attempts=self.attempts) as connector:
                stream = connector.spec.stream(flow.stream)
                point = dict(run.checkpoint or {})
                if not point.get("done"):
                    pages = connector.pages(stream.name, since=run.cursor_before.get("since"),
                                            resume=point.get("resume"), read_ahead=True)
                    async with self.db.held_connection() as held:
                        await self._read_all(run, stream, mapper, pages, point, held, renewer)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, runs.LeaseLost):
                await renewer
        current = await runs.load(self.db, run.tenant_id, run.id)
        broken = await contracts.breach(self.db, current, flow, stream)
        if broken is not None:  # zero records against a baseline, or under min_records
            return await contracts.fail(self.db, current, self.owner, broken)
        status = "partial" if current.records_failed else "succeeded"
        return await runs.finish(self.db, current, self.owner, status=status)

    async def _read_all(self, run: SyncRun, stream: Stream, mapper: Mapper,
                        pages: AsyncIterator[Page], point: dict[str, Any], held: Any,
                        renewer: asyncio.Task[None]) -> None:
        writing: asyncio.Task[None] | None = None
        try:
            async for page in read_ahead(pages):
                # mapped while the last batch is still committing; committed only after
                # it, so checkpoints stay in order, one at a time
                mapped = await _map_in_turns(stream, mapper, page.records)
                if writing is not None:
                    await writing
                point = _checkpoint(point, page)
                writing = asyncio.create_task(self._commit(run, page, mapped, point, held))
                if renewer.done():  # the lease is gone: another worker has it
                    renewer.result()
            if writing is not None:
                await writing
        finally:  # a batch in flight ends (commits or rolls back) before we do
            await _settled(writing)

    async def _run_directed(self, run: SyncRun, flow: DataFlow, integration: Integration,
                            provider: str) -> SyncRun:
        """Outbound and both-ways runs, with this engine's database, lease and hook. Imported
        here: those modules build on this one."""
        from jobs.sync.both_ways import run_both_ways
        from jobs.sync.outbound import run_outbound

        go = run_outbound if flow.direction == "outbound" else run_both_ways
        return await go(self, run, flow, integration, provider)

    async def _commit(self, run: SyncRun, page: Page,
                      mapped: tuple[list[Row], list[Rejected]],
                      checkpoint: dict[str, Any], held: Any) -> None:
        rows, rejected = mapped
        who = BatchRun(run.tenant_id, run.id, run.data_flow_id, self.owner,
                       datetime.now(UTC) + timedelta(seconds=self.lease_s))
        async with held_statement():
            written = await write_batch(held, who, rows, rejected, read=len(page.records),
                                        checkpoint=checkpoint)
        if written is None:  # nothing was written: the new owner writes the page
            raise runs.LeaseLost(str(run.id))
        if self.on_batch is not None:
            done = self.on_batch(Batch(len(page.records), written, len(rows) - written,
                                       len(rejected), checkpoint["cursor"]))
            if done is not None:
                await done

    async def _keep_lease(self, run: SyncRun) -> None:
        """Renew between batches too, so one slow page (a long rate-limit wait) does not
        let the lease lapse under a live worker."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await runs.renew(self.db, run, self.owner, self.lease_s)


def _checkpoint(point: dict[str, Any], page: Page) -> dict[str, Any]:
    """What commits with the page: the newest cursor so far and the next page's request."""
    cursor = max(filter(None, (point.get("cursor"), page.cursor)), default=None)
    return {"cursor": cursor, "resume": page.resume, "done": page.resume is None}


async def _settled(task: asyncio.Future[Any] | None) -> None:
    """Wait for a batch's commit without raising its failure: the caller is already
    ending with one of its own (or with this one, awaited before)."""
    if task is not None:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved, so it is not reported as never seen


@dataclass(frozen=True)
class _Failed:
    error: Exception


_END = object()
READ_AHEAD = 2  # pages fetched before they are needed: the memory a run holds stays flat


async def read_ahead(pages: AsyncIterator[Page], depth: int = READ_AHEAD
                     ) -> AsyncIterator[Page]:
    """Each page, with the next ones (up to ``depth``) fetched while the caller maps and
    writes this one, by a task of their own that keeps going at the provider's pace.

    The provider's answers and our own mapping and writing overlap, instead of taking
    turns. Nothing about checkpoints changes: a page's checkpoint still commits with that
    page's batch alone, and a page read ahead but never written (the worker died, the
    lease was lost) is simply read again from the last checkpoint. A failed fetch (a
    quota cap, an outage) surfaces in its turn, after every page before it.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=depth)

    async def fetch() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:  # handed over in order, to be raised by the reader
            await queue.put(_Failed(exc))
        else:
            await queue.put(_END)

    fetcher = asyncio.create_task(fetch())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        fetcher.cancel()
        await _settled(fetcher)
        await pages.aclose()  # type: ignore[attr-defined]


# records mapped before the loop looks at what else is ready. Each step of the next page's
# fetch (its answer's chunks, the budget's Redis reply, the request after) waits for a turn
# to end; 25 a turn held each step ~1 ms and the chain of requests with it: 5 measured
# 0.46-0.51 -> 0.68 of the fetch-only rate (docs/data-flows.md)
MAP_TURN = 5


async def _map_in_turns(stream: Stream, mapper: Mapper, records: list[dict[str, Any]]
                        ) -> tuple[list[Row], list[Rejected]]:
    """``_map_page``, a few records at a time. The next page's answer lands while this one
    is mapped; taken in between turns, its request for the page after goes out at once,
    so the provider works while we map instead of waiting for a whole page's mapping."""
    rows: list[Row] = []
    rejected: list[Rejected] = []
    for start in range(0, len(records), MAP_TURN):
        if start:
            await asyncio.sleep(0)
        done, failed = _map_page(stream, mapper, records[start:start + MAP_TURN])
        rows += done
        rejected += failed
    return rows, rejected


def _map_page(stream: Stream, mapper: Mapper,
              records: list[dict[str, Any]]) -> tuple[list[Row], list[Rejected]]:
    rows: list[Row] = []
    rejected: list[Rejected] = []
    for record in records:
        external_id = stream.key(record)
        out = mapper.apply(record)
        if out.errors:
            rejected.append(Rejected(external_id, record, [
                {"field": e.field, "rule": e.rule_index, "message": e.message}
                for e in out.errors]))
            continue
        if out.data is None:  # dropped on purpose by a rule: not a failure
            continue
        if len(external_id) > EXTERNAL_ID_LENGTH or "\x00" in external_id:
            rejected.append(Rejected(external_id, record, [
                {"field": stream.primary_key, "rule": None,
                 "message": f"the record's id does not fit ({len(external_id)} characters, "
                            f"at most {EXTERNAL_ID_LENGTH}, no NUL)"}]))
            continue
        encoded = canonical(out.data)  # hashed and stored as it is: encoded once
        if "\\u0000" in encoded:  # jsonb cannot hold NUL; it would sink the page
            rejected.append(Rejected(external_id, record, [
                {"field": None, "rule": None,
                 "message": "a mapped value holds a NUL character, which cannot be stored"}]))
            continue
        updated = to_iso(dig(record, stream.cursor_field)) if stream.cursor_field else None
        # hashed here, in the mapping's turns, not in one block as the page commits
        rows.append(Row(external_id, out.data, updated, encoded, text_hash(encoded)))
    return rows, rejected


def new_owner() -> str:
    """A lease holder's name: unique per process and engine, readable in the row."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
