"""Run any ConnectorSpec: read streams page by page, find deletions, write batches, test,
verify webhooks.

The caller (a sync job, a workflow step, a tool the agent uses) builds a
``Connector`` with the integration's decrypted credentials and settings, the
shared Redis for quota and circuit state, a priority, and two callbacks:
``observer`` (usage and health) and ``save_credentials`` (refreshed tokens,
encrypted by the caller before they are stored).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
from redis.asyncio import Redis

from connectors import oauth
from connectors.cursors import newest_cursor, to_iso
from connectors.errors import (
    BadRequest,
    NotFoundAtProvider,
    ProviderError,
    ScanIncomplete,
)
from connectors.http import Attempts, CallObserver, ProviderClient
from connectors.paginators import Paginator
from connectors.quota import CircuitBreaker, Priority, QuotaBudget
from connectors.request import Request, dig
from connectors.results import ConnectionResult, Deleted, IdPage, Page
from connectors.spec import ConnectorSpec, InboundEvent, Stream, WebhookRequest, WriteResult
from store.errors import ValidationFailed

REFRESH_AHEAD_S = 120
SECRET_FIELDS = ("access_token", "refresh_token", "client_secret", "api_key", "webhook_secret",
                 "developer_token", "app_secret", "hook_url")


def account_key(spec: ConnectorSpec, credentials: dict[str, Any],
                settings: dict[str, Any]) -> str:
    """Integrations on the same provider account share one budget: key it by the account."""
    parts = [str(credentials.get(f) or settings.get(f) or "") for f in spec.account_fields]
    return hashlib.sha256("|".join([spec.name, *parts]).encode()).hexdigest()[:20]


class Connector:
    def __init__(self, spec: ConnectorSpec, credentials: dict[str, Any],
                 settings: dict[str, Any] | None = None, *, redis: Redis,
                 priority: Priority = Priority.sync, observer: CallObserver | None = None,
                 save_credentials: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
                 http: httpx.AsyncClient | None = None, attempts: Attempts | None = None,
                 max_wait_s: float = 30.0, timeout_s: float = 30.0) -> None:
        self.spec = spec
        self.credentials = dict(credentials)
        self.settings = dict(settings or {})
        self.save_credentials = save_credentials
        spec.auth.validate(self.credentials)  # names a missing credential before any call
        account = account_key(spec, self.credentials, self.settings)
        self.client = ProviderClient(
            spec, self.base_url(), spec.auth.build_for(self.credentials, self.settings),
            budget=QuotaBudget(redis, spec.name, account, spec.rate_limit, max_wait_s=max_wait_s),
            breaker=CircuitBreaker(redis, spec.name, account), priority=priority,
            refresh=self._refresh if spec.auth.oauth else None, observer=observer, http=http,
            attempts=attempts, timeout_s=timeout_s, hidden=self._secret_values())

    # -- where and how ------------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        extra = self.spec.context(self.credentials, self.settings) if self.spec.context else {}
        return {**self.settings, **extra}

    def base_url(self) -> str:
        sandbox = self.settings.get("sandbox_url")
        template = (self.settings.get("base_url")
                    or (sandbox.rstrip("/") + self.spec.sandbox_base if sandbox else None)
                    or self.spec.base_url)
        return self._fill(template)

    def _fill(self, template: str) -> str:
        try:
            return template.format(**self.context())
        except KeyError as exc:
            raise ValidationFailed(f"{self.spec.name} needs the setting {exc.args[0]!r}",
                                   field=f"settings.{exc.args[0]}") from None

    def _secret_values(self) -> tuple[str, ...]:
        return tuple(str(self.credentials[f]) for f in SECRET_FIELDS if self.credentials.get(f))

    async def _refresh(self) -> httpx.Auth:
        config = self.spec.auth.oauth
        assert config is not None
        _, token_url = oauth.oauth_urls(config, self.settings.get("sandbox_url"),
                                        self.spec.sandbox_oauth)
        self.credentials = await oauth.refresh(config, token_url, self.credentials,
                                               self.spec.name)
        if self.save_credentials is not None:
            await self.save_credentials(self.credentials)
        self.client.hidden = self._secret_values()
        return self.spec.auth.build_for(self.credentials, self.settings)

    async def _refresh_if_due(self) -> None:
        expires_at = self.credentials.get("expires_at")
        if (self.spec.auth.oauth and self.credentials.get("refresh_token") and expires_at
                and float(expires_at) - time.time() < REFRESH_AHEAD_S):
            self.client.auth = await self._refresh()

    # -- reading --------------------------------------------------------------------------

    async def pages(self, stream_name: str, *, since: str | None = None,
                    page_size: int | None = None,
                    resume: dict[str, Any] | None = None,
                    read_ahead: bool = False) -> AsyncIterator[Page]:
        """Every page of a stream, oldest change first where the provider can sort.
        ``read_ahead``: see ``_walk``; for a caller that reads every page."""
        stream = self.spec.stream(stream_name)
        size = page_size or stream.page_size
        if resume is not None:
            request, paginator = Request(**resume), stream.paginator
            if since and stream.delta is not None:
                _, paginator = stream.delta.request(stream, since, request)
        else:
            request, paginator = self._request(stream), stream.paginator
            if since and stream.delta is not None:
                request, paginator = stream.delta.request(stream, since, request)
            request = paginator.first(request, size)
        async for records, _, following in self._walk(stream, request, paginator,
                                                      read_ahead=read_ahead):
            cursor = None
            if field_name := stream.cursor_field:
                cursor = newest_cursor([r.get(field_name) for r in records]
                                       if "." not in field_name
                                       else [dig(r, field_name) for r in records])
            # shallow: paginators never change a request, they make a new one
            yield Page(records, cursor, dict(vars(following)) if following else None)

    async def deleted_since(self, stream_name: str, since: str) -> AsyncIterator[list[Deleted]]:
        """Records deleted (or archived) at the provider since ``since`` (ISO-8601), a page
        at a time, where the provider serves them (``Stream.deletions``)."""
        stream = self.spec.stream(stream_name)
        spec = stream.deletions
        if spec is None:
            raise ValidationFailed(f"{self.spec.name} does not serve deleted {stream.name}; "
                                   "reconcile with an id scan", field="stream")
        if spec.build is not None:
            request = spec.build(stream, since)
        else:
            extra = {**spec.params}
            if spec.since_param:
                extra[spec.since_param] = spec.format(since)
            request = self._request(stream, extra)
        request = stream.paginator.first(request, spec.page_size or stream.page_size)
        floor = to_iso(since) or ""
        async for records, _, _ in self._walk(stream, request, stream.paginator):
            found = [Deleted(stream.key(r), to_iso(dig(r, spec.deleted_at))) for r in records]
            if spec.since_param is None and spec.build is None:
                found = [d for d in found if d.at is None or d.at >= floor]
            if found:
                yield found

    async def scan_ids(self, stream_name: str) -> AsyncIterator[IdPage]:
        """Every id of a stream, cheaply (``Stream.id_scan``), a page at a time.

        Only the last page of a scan that reached the end says ``complete``; a failed call
        raises out of the scan, and a scan whose ids do not add up to the provider's own
        total raises ``ScanIncomplete`` instead of yielding its last page. Deleting what a
        scan did not see is safe only after ``complete``: ``vanished`` does exactly that.
        """
        stream = self.spec.stream(stream_name)
        scan = stream.id_scan
        if scan is None:
            raise ValidationFailed(f"{self.spec.name} has no id scan for {stream.name}",
                                   field="stream")
        request = scan.build(stream) if scan.build is not None else \
            self._request(stream, scan.params)
        request = stream.paginator.first(request, scan.page_size or stream.page_size)
        seen: set[str] = set()
        totals: set[Any] = set()
        async for records, body, following in self._walk(stream, request, stream.paginator):
            ids = [stream.key(r) for r in records]
            seen.update(ids)
            if scan.total is not None:
                totals.add(dig(body, scan.total))
            if following is None and scan.total is not None and (
                    len(totals) != 1 or len(seen) != int(next(iter(totals)) or 0)):
                raise ScanIncomplete(
                    f"the {self.spec.name} {stream.name} id scan saw {len(seen)} ids, but the "
                    f"provider counted {sorted(map(str, totals))}: the list changed during "
                    "the scan", provider=self.spec.name)
            yield IdPage(ids, complete=following is None)

    async def all_ids(self, stream_name: str) -> frozenset[str]:
        """Every id the provider holds now, from a scan that reached its end; raises
        otherwise, so a caller never holds a partial set it could mistake for the whole."""
        found: set[str] = set()
        complete = False
        async for page in self.scan_ids(stream_name):
            found.update(page.ids)
            complete = page.complete
        if not complete:  # a paginator that ended without a last page: never trust it
            raise ScanIncomplete(f"the {self.spec.name} {stream_name} id scan did not finish",
                                 provider=self.spec.name)
        return frozenset(found)

    async def vanished(self, stream_name: str, known: set[str] | frozenset[str]) -> set[str]:
        """Of the ids we hold (``known``, taken before the scan starts), those the provider
        no longer has, from a finished scan only."""
        return set(known) - await self.all_ids(stream_name)

    async def total(self, stream_name: str) -> int:
        """The provider's own count of the stream's records (``Stream.total``), one call."""
        stream = self.spec.stream(stream_name)
        spec = stream.total
        if spec is None:
            raise ValidationFailed(f"{self.spec.name} does not count {stream.name}",
                                   field="stream")
        request = spec.build(stream) if spec.build is not None else \
            self._request(stream, spec.params)
        await self._refresh_if_due()
        _, body = await self.client.send(replace(request, path=self._fill(request.path)))
        count = dig(body, spec.total)
        if isinstance(count, bool) or not isinstance(count, int | str) \
                or not str(count).isdigit():
            raise ProviderError(f"{self.spec.name} answered the {stream.name} count without "
                                f"a number at {spec.total!r}", provider=self.spec.name)
        return int(count)

    async def read_ids(self, stream_name: str,
                       ids: list[str]) -> AsyncIterator[list[dict[str, Any]]]:
        """The named records, a batch at a time (``Stream.by_ids``); ids the provider no
        longer has are left out."""
        stream = self.spec.stream(stream_name)
        spec = stream.by_ids
        if spec is None:
            raise ValidationFailed(f"{self.spec.name} cannot read {stream.name} by id",
                                   field="stream")
        for start in range(0, len(ids), spec.max_ids):
            request = spec.build(stream, ids[start:start + spec.max_ids])
            await self._refresh_if_due()
            _, body = await self.client.send(replace(request, path=self._fill(request.path)))
            records = dig(body, spec.records)
            if not isinstance(records, list):
                raise ProviderError(f"{self.spec.name} answered a {stream.name} read by id "
                                    f"without a list at {spec.records!r}",
                                    provider=self.spec.name)
            yield [r for r in records if isinstance(r, dict)]

    def _request(self, stream: Stream, extra: dict[str, Any] | None = None) -> Request:
        """The stream's own request; ``extra`` params override its own, None removing one."""
        params = {k: v for k, v in {**stream.params, **(extra or {})}.items() if v is not None}
        return Request(stream.method, self._fill(stream.path), params,
                       json=dict(stream.body) if stream.body is not None else None)

    async def _walk(self, stream: Stream, request: Request, paginator: Paginator, *,
                    read_ahead: bool = False
                    ) -> AsyncIterator[tuple[list[dict[str, Any]], Any, Request | None]]:
        """(records, body, next request) for each page until the paginator stops.

        ``read_ahead``: the next page's request goes out before this page is handed over, so
        the provider answers it while the caller works on this one instead of waiting for
        the caller to ask. One request ahead at most; its failure is raised in its turn,
        after this page. A walk left early has spent that call for nothing (and cancels
        it), so only a caller that reads to the end asks for it (the sync engine)."""
        ahead: asyncio.Future[Any] | None = None
        try:
            while True:
                body = await (ahead if ahead is not None else self._send(request))
                ahead = None
                records = dig(body, stream.records) or []
                if not isinstance(records, list):
                    raise ProviderError(f"{self.spec.name} answered {stream.name} without a "
                                        f"list at {stream.records!r}", provider=self.spec.name)
                following = paginator.next(request, body)
                if following is not None and read_ahead:
                    ahead = asyncio.ensure_future(self._send(following))
                yield records, body, following
                if following is None:
                    return
                request = following
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.wait([ahead])
                if not ahead.cancelled():
                    ahead.exception()  # a page nobody asked for: its failure is no one's

    async def _send(self, request: Request) -> Any:
        await self._refresh_if_due()
        _, body = await self.client.send(request)
        return body

    async def read_one(self, stream_name: str, record_id: str) -> dict[str, Any]:
        """One record by its id, with the stream's own fields (``Stream.one``)."""
        stream = self.spec.stream(stream_name)
        if stream.one is None:
            raise ValidationFailed(f"{self.spec.name} cannot read one {stream.name} record "
                                   "by its id", field="stream")
        path = self._fill(stream.one.replace("{id}", quote(str(record_id), safe="")))
        params = {k: v for k, v in stream.params.items() if k != "archived"}
        await self._refresh_if_due()
        _, body = await self.client.send(Request("GET", path, params))
        if not isinstance(body, dict):
            raise ProviderError(f"{self.spec.name} answered a {stream.name} read without an "
                                "object", provider=self.spec.name)
        return body

    async def read_all(self, stream_name: str, *, since: str | None = None,
                       page_size: int | None = None) -> list[dict[str, Any]]:
        return [r async for page in self.pages(stream_name, since=since, page_size=page_size)
                for r in page.records]

    # -- writing --------------------------------------------------------------------------

    async def write(self, write_name: str, records: list[dict[str, Any]]) -> WriteResult:
        """Send records in batches of the provider's size; per-record failures are counted,
        a whole batch refused by the provider counts all its records as failed."""
        spec = self.spec.write(write_name)
        ok = failed = 0
        errors: list[dict[str, Any]] = []
        ids: list[str] = []
        written: dict[int, str] = {}
        refused: dict[int, str] = {}
        for start in range(0, len(records), spec.batch_size):
            batch = records[start:start + spec.batch_size]
            await self._refresh_if_due()
            body = spec.body(batch, self.context()) if spec.with_context else spec.body(batch)
            request = Request(spec.method, self._fill(spec.path),
                              json=None if spec.form else body,
                              data=body if spec.form else None)
            try:
                response, _ = await self.client.send(request)
            except (BadRequest, NotFoundAtProvider) as exc:
                # the provider refused this batch: count it and go on; anything else
                # (auth, quota, an outage) stops the write for the caller to handle
                failed += len(batch)
                errors.append({"batch_start": start, "message": exc.message})
                refused.update((start + i, exc.message) for i in range(len(batch)))
                continue
            result = spec.result(response, batch)
            ok += result.ok
            failed += result.failed
            ids.extend(result.ids)
            errors.extend({**e, "batch_start": start} for e in result.errors)
            written.update((start + i, rid) for i, rid in result.written.items())
            refused.update((start + i, why) for i, why in result.refused.items())
        return WriteResult(ok=ok, failed=failed, errors=errors, ids=ids, written=written,
                           refused=refused)

    # -- checking -------------------------------------------------------------------------

    async def test_connection(self) -> ConnectionResult:
        """One cheap authenticated call, and what a person should do if it fails."""
        started = time.perf_counter()
        call = self.spec.connection_test
        try:
            await self._refresh_if_due()
            _, body = await self.client.send(replace(call.request,
                                                     path=self._fill(call.request.path)))
        except ProviderError as exc:
            return ConnectionResult(False, exc.message, action=exc.advice(),
                             latency_ms=(time.perf_counter() - started) * 1000,
                             details={"category": exc.category, **exc.as_details()}, error=exc)
        return ConnectionResult(True, call.describe(body),
                         latency_ms=(time.perf_counter() - started) * 1000,
                         details={"quota": await self.client.budget.remaining()})

    def verify_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """Raises WebhookRejected unless the delivery is authentic; returns its events."""
        hooks = self.spec.webhooks
        if hooks is None:
            raise ValidationFailed(f"{self.spec.name} does not send webhooks")
        hooks.verify(request, {**self.settings, **self.credentials})
        return hooks.events(request)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
