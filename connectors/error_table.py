"""A provider's errors as a table: rows matching an answer -> the error it amounts to.

Each provider module declares an ``ErrorTable``: where its code and its own words
live in an error body, then ``Rule`` rows, first match wins. A row matches on any
of HTTP status, provider code (a regex, full match), the provider's words (a regex,
searched), values at body paths, and, only where the API is odd, a predicate. It
names the error class, a message template, an action template, and where the
retry delay comes from (``Wait`` sources, first that yields wins). Rows the
provider does not declare fall through to ``DEFAULT_RULES``, the generic reading
of HTTP statuses. Templates fill ``{provider}``, ``{said}``, ``{code}``,
``{status}`` and any dotted path into the table's computed fields or the body,
with a default after a bar: ``{policyName|burst}``.

    ERRORS = ErrorTable("HubSpot", code="category", rules=(
        Rule(TokenExpired, "{provider} rejected the token ({code}): {said}", status=401),
        Rule(RateLimited, "{provider} rate limit: {said}", status=429,
             wait=(Wait(header="retry-after"), Wait(fixed=1.0))),
    ))
"""

from __future__ import annotations

import email.utils
import functools
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.errors import (
    BadRequest,
    MissingScope,
    NotFoundAtProvider,
    ProviderDown,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TokenExpired,
    Transient,
)
from connectors.request import dig


def retry_after_seconds(response: httpx.Response, name: str = "retry-after") -> float | None:
    """A Retry-After style header as seconds, whether a number or an HTTP date."""
    value = response.headers.get(name)
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def provider_message(body: Any) -> str | None:
    """The provider's own words, wherever its error body keeps them."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("message") or body[0].get("errorCode")
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return error.get("message")
    for key in ("message", "detail", "title", "error_description"):
        if isinstance(body.get(key), str):
            return body[key]
    return error if isinstance(error, str) else None


@dataclass(frozen=True)
class Reply:
    """One failed answer as the rows see it."""

    response: httpx.Response
    body: Any
    code: str | None  # the provider's own code, as the table reads it
    said: str  # the provider's own words (else the HTTP reason phrase)
    fields: dict[str, Any]  # what the table computed from the body, for rows and templates

    @property
    def status(self) -> int:
        return self.response.status_code

    def get(self, path: str) -> Any:
        found = dig(self.fields, path)
        return found if found is not None else dig(self.body, path)


@dataclass(frozen=True)
class Wait:
    """One place a retry delay may come from; ``unit`` turns the number into seconds."""

    header: str | None = None  # "retry-after" (seconds or HTTP date), or a named header
    path: str | None = None  # a dotted path into the computed fields or the body
    parse: Callable[[Any], float | None] = float
    unit: float = 1.0
    fixed: float | None = None  # when the provider says nothing
    compute: Callable[[Reply], float | None] | None = None  # where the delay is worked out

    def seconds(self, reply: Reply) -> float | None:
        if self.compute is not None:
            return self.compute(reply)
        if self.header is not None:
            found = retry_after_seconds(reply.response, self.header)
        elif self.path is not None:
            raw = reply.get(self.path)
            try:
                found = self.parse(raw) if raw is not None else None
            except (TypeError, ValueError):
                found = None
        else:
            found = self.fixed
        return None if found is None else found * self.unit


RETRY_AFTER = Wait(header="retry-after")


def _within(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, Collection) and not isinstance(wanted, str):
        return value in wanted
    return bool(value == wanted)


@dataclass(frozen=True)
class Rule:
    error: type[ProviderError]
    message: str  # a template; see the module docstring
    status: int | Collection[int] | None = None
    code: str | None = None  # regex over the provider code; "" matches an answer without one
    said: str | None = None  # regex searched in the provider's words
    where: dict[str, Any] = field(default_factory=dict)  # body path -> value or collection
    when: Callable[[Reply], bool] | None = None  # code, for what data cannot say
    wait: tuple[Wait, ...] = ()
    action: str | None = None  # a template too
    details: tuple[str, ...] = ()  # body paths kept in the error's details
    resets_at: Callable[[Reply], datetime] | None = None  # a cap that lifts at a computed time

    def matches(self, reply: Reply) -> bool:
        return ((self.status is None or _within(reply.status, self.status))
                and (self.code is None or re.fullmatch(self.code, reply.code or "") is not None)
                and (self.said is None or re.search(self.said, reply.said) is not None)
                and all(_within(reply.get(path), wanted) for path, wanted in self.where.items())
                and (self.when is None or self.when(reply)))

    def error_for(self, reply: Reply, provider: str, name: str) -> ProviderError:
        kw: dict[str, Any] = {"provider": name, "http_status": reply.status,
                              "provider_code": reply.code, "provider_message": reply.said}
        if self.action:
            kw["action"] = fill(self.action, reply, provider)
        if self.details:
            kw["details"] = [{path: reply.get(path) or "?" for path in self.details}]
        message = fill(self.message, reply, provider)
        if not issubclass(self.error, Transient):
            return self.error(message, **kw)
        wait = next((s for w in self.wait if (s := w.seconds(reply)) is not None), None)
        resets = self.resets_at(reply) if self.resets_at else None
        if issubclass(self.error, QuotaExhausted):
            # a cap always lifts at some point: without a figure, look again in an hour
            resets = resets or datetime.now(UTC) + timedelta(seconds=3600 if wait is None
                                                             else wait)
            return self.error(message, resets_at=resets, **kw)
        return self.error(message, retry_after=wait, resets_at=resets, **kw)


_PLACE = re.compile(r"\{([\w.]+)(?:\|([^}]*))?\}")


def fill(template: str, reply: Reply, provider: str) -> str:
    known = {"provider": provider, "said": reply.said, "code": reply.code,
             "status": reply.status}

    def one(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        value = known[name] if name in known else reply.get(name)
        return str(value) if value not in (None, "") else (default or "?")

    return _PLACE.sub(one, template)


Reader = str | Callable[[Any], Any] | None


def _read(reader: Reader, body: Any) -> Any:
    if reader is None:
        return None
    return reader(body) if callable(reader) else dig(body, reader)


def _failed(response: httpx.Response, body: Any) -> bool:
    return response.status_code >= 400


@dataclass(frozen=True)
class ErrorTable:
    """``provider`` is the name a person reads in messages ("HubSpot"); ``name`` the
    connector's ("hubspot"). ``reads`` says whether a body is the provider's own error
    format; ``rules`` apply to those, ``unread`` to the rest, and ``DEFAULT_RULES``
    to whatever neither matched."""

    provider: str
    name: str
    rules: tuple[Rule, ...] = ()
    code: Reader = None
    said: Reader = None
    fields: Callable[[Any], dict[str, Any]] | None = None
    reads: Callable[[Any], bool] | None = None
    unread: tuple[Rule, ...] = ()
    failed: Callable[[httpx.Response, Any], bool] = _failed  # Slack fails with HTTP 200

    def classify(self, response: httpx.Response, body: Any) -> ProviderError | None:
        if not self.failed(response, body):
            return None
        own = self.reads is None or self.reads(body)
        code = _read(self.code, body) if own else None
        said = (_read(self.said, body) if own else None) or provider_message(body) \
            or response.reason_phrase
        reply = Reply(response, body, str(code) if code not in (None, "") else None, str(said),
                      (self.fields(body) if self.fields and own else {}))
        for rule in (*(self.rules if own else self.unread), *DEFAULT_RULES):
            if rule.matches(reply):
                return rule.error_for(reply, self.provider, self.name)
        return None


DEFAULT_RULES = (
    Rule(TokenExpired, "{provider} rejected the credentials: {said}", status=401),
    Rule(MissingScope, "{provider} refused access (missing permission?): {said}", status=403),
    Rule(NotFoundAtProvider, "{provider} has no such resource: {said}", status=404),
    Rule(RateLimited, "{provider} rate limit hit: {said}", status=429, wait=(RETRY_AFTER,)),
    # a 503 may say when to come back (RFC 9110); kept for whoever schedules the retry
    Rule(ProviderDown, "{provider} is having trouble (HTTP {status}): {said}",
         status=range(500, 600), wait=(RETRY_AFTER,)),
    Rule(BadRequest, "{provider} refused the request: {said}", status=range(400, 500)),
)


@functools.cache
def default_table(name: str) -> ErrorTable:
    """For a connector that declares no table: the HTTP statuses alone."""
    return ErrorTable(provider=name, name=name)
