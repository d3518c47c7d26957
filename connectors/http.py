"""The one HTTP path to every provider.

Per call: circuit breaker, shared quota budget (by priority), the provider's
auth, a timeout, then classification of the response into success or a
``ProviderError``. Transient errors (429 and each provider's own "slow down",
5xx, timeouts) are retried with exponential backoff and jitter, honouring
Retry-After; a 401 that looks like an expired token triggers one refresh and
one repeat. Other client errors are never retried. Every attempt is reported
to the observer, which counts usage and writes health logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson
from httpx_aiohttp import AiohttpTransport
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from connectors.error_table import default_table
from connectors.errors import (
    BadRequest,
    ProviderDown,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ReconnectNeeded,
    TokenExpired,
    Transient,
)
from connectors.quota import CircuitBreaker, Priority, QuotaBudget
from connectors.request import Request
from connectors.spec import ConnectorSpec, Usage
from store.redact import redact

log = logging.getLogger(__name__)


class CallObserver(Protocol):
    """``usage``: what the provider's headers said; ``cost``: what the call counts against
    the provider's quota (``ConnectorSpec.cost``)."""

    async def call(self, *, status: int | None, elapsed_ms: float,
                   error: ProviderError | None, usage: Usage | None = None,
                   cost: int = 1) -> None: ...


class NullObserver:
    async def call(self, *, status: int | None, elapsed_ms: float,
                   error: ProviderError | None, usage: Usage | None = None,
                   cost: int = 1) -> None:
        return None


def default_classify(provider: str, response: httpx.Response, body: Any) -> ProviderError | None:
    """The generic reading of an answer by its HTTP status (``DEFAULT_RULES``)."""
    return default_table(provider).classify(response, body)


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None  # kept nowhere: see CookielessClient


class CookielessClient(httpx.AsyncClient):
    """httpx's client with no cookie jar: a provider's ``Set-Cookie`` is never kept, so it
    is never sent with a later request (another tenant's, on a worker's shared client), and
    an answer is not taken apart for cookies at all (httpx builds urllib's request and
    response views for each, a twentieth of a worker's profile for a jar that would refuse
    them anyway). Connectors authenticate per request; none relies on a cookie."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        pass  # httpx's constructor sets one: nothing is kept


_NO_COOKIES = _NoCookies()
URL_CACHE = 512  # parsed URLs a client keeps (httpx parses a URL given as text each call)


@dataclass
class Attempts:
    """Retry policy knobs; tests shrink the waits."""

    max_attempts: int = 5
    base_wait_s: float = 0.5
    max_wait_s: float = 30.0


class ProviderClient:
    def __init__(self, spec: ConnectorSpec, base_url: str, auth: httpx.Auth, *,
                 budget: QuotaBudget, breaker: CircuitBreaker, priority: Priority,
                 refresh: Callable[[], Awaitable[httpx.Auth]] | None = None,
                 observer: CallObserver | None = None, http: httpx.AsyncClient | None = None,
                 attempts: Attempts | None = None, timeout_s: float = 30.0,
                 hidden: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.budget = budget
        self.breaker = breaker
        self.priority = priority
        self.refresh = refresh
        self.observer = observer or NullObserver()
        self._own_http = http is None
        # httpx's API over aiohttp's connection pool and C parser: the same requests and
        # answers for about a third of httpx's own CPU per call (the OpenAI SDK offers the
        # same pairing), which a sync reading page after page spends on every page
        self.http = http or CookielessClient(timeout=timeout_s, transport=AiohttpTransport())
        self.timeout_s = timeout_s
        self.attempts = attempts or Attempts()
        self.hidden = hidden
        self._refreshed = False
        self._urls: dict[str, httpx.URL] = {}

    def url(self, path: str) -> str:
        """Next links are absolute; refuse any that would carry our token to another host."""
        if path.startswith(("http://", "https://")):
            host = urlsplit(path).netloc
            if host != urlsplit(self.base_url).netloc and host not in self.spec.trusted_hosts:
                raise BadRequest(f"{self.spec.name} returned a next link to another host",
                                 provider=self.spec.name)
            return path
        return self.base_url + path

    async def send(self, request: Request) -> tuple[httpx.Response, Any]:
        # the first attempt outside tenacity: nearly every call succeeds at once, and
        # setting up its retrying for each one was a twentieth of a worker's profile
        try:
            return await self._once(request)
        except Exception as exc:
            if not _retryable(exc) or self.attempts.max_attempts < 2:
                raise
            await asyncio.sleep(self._wait_after(exc, 1))
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.attempts.max_attempts - 1),
            wait=self._wait, reraise=True)
        async for attempt in retrying:
            with attempt:
                return await self._once(request)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """Before the next try; tenacity's attempts start at the second."""
        error = state.outcome.exception() if state.outcome else None
        return self._wait_after(error, state.attempt_number + 1)

    def _wait_after(self, error: BaseException | None, attempt: int) -> float:
        """The wait after the ``attempt``-th try failed with ``error``."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.attempts.max_wait_s)
        if isinstance(error, TokenExpired):
            return 0.0
        exp = self.attempts.base_wait_s * 2 ** (attempt - 1)
        return min(self.attempts.max_wait_s, exp) * (0.5 + random.random() / 2)

    def _parsed(self, url: str) -> httpx.URL:
        """``url`` parsed once per client: a run's calls go to a few URLs over and over."""
        found = self._urls.get(url)
        if found is None:
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            found = self._urls[url] = httpx.URL(url)
        return found

    def _relative(self, request: Request) -> Request:
        """Endpoint limits are declared on paths below the base URL; next links are whole."""
        if request.path.startswith(self.base_url):
            return replace(request, path=request.path[len(self.base_url):] or "/")
        return request

    async def _once(self, request: Request) -> tuple[httpx.Response, Any]:
        # breaker, pause, reported usage and windows: one round trip to Redis
        admitted = await self.budget.admit(self.priority, self._relative(request), self.breaker)
        started = time.perf_counter()
        url, params = self.url(request.path), request.params or None
        if params and "?" in url:  # a path with its own query (a setting): httpx would drop it
            url, params = str(httpx.URL(url).copy_merge_params(params)), None
        try:
            response = await self.http.request(
                request.method, self._parsed(url), params=params,
                json=request.json, data=request.data, headers=request.headers or None,
                auth=self.auth, timeout=self.timeout_s)
        except httpx.TimeoutException:
            error: ProviderError = ProviderDown(
                f"{self.spec.name} did not answer within {self.timeout_s:.0f}s",
                provider=self.spec.name)
            await self._failed(error, None, started)
            raise error from None
        except httpx.TransportError as exc:
            error = ProviderDown(
                f"could not reach {self.spec.name}: {redact(str(exc), self.hidden)}",
                provider=self.spec.name)
            await self._failed(error, None, started)
            raise error from None
        body = _json(response)
        found = (self.spec.classify(response, body) if self.spec.classify else None)
        if found is None and response.status_code >= 400:  # a classify without a table
            found = default_classify(self.spec.name, response, body)
        reported = self.spec.usage(response) if self.spec.usage is not None else None
        if reported is not None:
            await self.budget.observe(reported, seen=admitted)
        if found is None:
            self._refreshed = False  # "once on a 401" is per call, not per client lifetime
            if admitted.breaker_dirty:  # a breaker with nothing in it has nothing to clear
                await self.breaker.success()
            await self.observer.call(
                status=response.status_code, elapsed_ms=_ms(started), error=None,
                usage=reported, cost=self.spec.cost(request) if self.spec.cost else 1)
            return response, body
        error = found
        if isinstance(error, TokenExpired):
            if self.refresh is not None and not self._refreshed:
                self._refreshed = True
                try:
                    self.auth = await self.refresh()
                except ReconnectNeeded as failed:
                    error = _refused(error, failed)
                except Transient as busy:
                    self._refreshed = False  # the token endpoint was busy: renew next time
                    error = busy
            else:
                error = _refused(error, None)
        elif isinstance(error, RateLimited):
            if error.retry_after is None and response.status_code == 429:
                # no Retry-After: our log knows when our oldest call leaves the rolling
                # window, which is never later than the whole interval and usually sooner
                error.retry_when(retry_after=await self.budget.retry_in(self._relative(request)))
            if error.retry_after:
                wait = error.retry_after
                # every caller of this account waits, not only us
                await self.budget.pause(min(wait, 3600))
                if wait > self.attempts.max_wait_s:
                    error = QuotaExhausted(
                        f"{error.message}; the provider asks us to wait {wait:.0f}s",
                        provider=self.spec.name,
                        resets_at=datetime.now(UTC) + timedelta(seconds=wait),
                        http_status=error.http_status, provider_message=error.provider_message)
        await self._failed(error, response.status_code, started)
        raise error

    async def _failed(self, error: ProviderError, status: int | None, started: float) -> None:
        if isinstance(error, ProviderDown):
            await self.breaker.failure()
        # a provider may quote our request back, credentials and all
        error.message = redact(error.message, self.hidden)
        if error.provider_message:
            error.provider_message = redact(error.provider_message, self.hidden)
        error.details = [{k: redact(v, self.hidden) if isinstance(v, str) else v
                          for k, v in d.items()} for d in error.details]
        await self.observer.call(status=status, elapsed_ms=_ms(started), error=error)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()


def _retryable(error: BaseException) -> bool:
    # a quota that resets in hours is not worth retrying now: the caller checkpoints
    return isinstance(error, Transient) and not isinstance(error, QuotaExhausted)


def _refused(rejected: TokenExpired, renewal: ReconnectNeeded | None) -> ReconnectNeeded:
    """The provider refused the stored credentials and renewing them did not help: say what
    it said to the call (its code and words), then why renewal failed, in its own words."""
    code = f" ({rejected.provider_code})" if rejected.provider_code else ""
    said = rejected.provider_message or f"HTTP {rejected.http_status}"
    head = f"{rejected.provider} refused the stored credentials{code}: {said}"
    message = (f"{head}; then {renewal.message}" if renewal is not None
               else f"{head}; reconnect the integration")
    details = [{"renewal_code": renewal.provider_code, "renewal_status": renewal.http_status,
                "renewal_message": renewal.provider_message}] if renewal else None
    return ReconnectNeeded(message, provider=rejected.provider, http_status=rejected.http_status,
                           provider_code=rejected.provider_code, provider_message=said,
                           action=renewal.action if renewal is not None else None,
                           details=details)


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:  # orjson parses a page of records in a fraction of json's time; anything it
        return orjson.loads(response.content)  # refuses (other charsets, NaN) goes to json
    except orjson.JSONDecodeError:
        pass
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
