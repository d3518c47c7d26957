"""A connector is mostly a description: this module is the vocabulary for it.

A provider module in connectors/providers/ builds one ``ConnectorSpec``: its
auth scheme, its streams (path, paginator, record selector, primary key,
cursor field for deltas), its batch writes, its webhook check, its documented
rate limits and how its errors look. connectors/connector.py runs any spec.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from connectors.auth import AuthScheme
from connectors.errors import ProviderError
from connectors.paginators import Paginator
from connectors.request import Request, dig


@dataclass(frozen=True)
class Delta:
    """Ask only for records changed since a cursor value.

    The default adds a query parameter; ``format`` turns the stored cursor
    (an ISO-8601 string) into what the provider wants. Providers whose delta
    is a different request altogether (HubSpot search, SOQL) pass ``build``.
    """

    param: str | None = None
    format: Callable[[str], str] = str
    build: Callable[[Stream, str, Request], tuple[Request, Paginator]] | None = None

    def request(self, stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
        if self.build is not None:
            return self.build(stream, since, request)
        assert self.param is not None
        params = {**request.params, self.param: self.format(since)}
        return replace(request, params=params), stream.paginator


@dataclass(frozen=True)
class Deletions:
    """Records a provider still serves after they were deleted or archived.

    The read is the stream's own request with ``params`` merged in (HubSpot
    ``archived=true``, Mailchimp ``status=archived``), or what ``build(stream, since)``
    returns (Salesforce ``queryAll ... WHERE IsDeleted = true``). ``since_param`` asks the
    provider for deletions after a moment (formatted by ``format``); without one, records
    whose ``deleted_at`` is older than ``since`` are dropped on our side (HubSpot's archive
    list has no time filter).
    """

    deleted_at: str  # dotted path of the deletion (or archiving) time inside a record
    params: dict[str, Any] = field(default_factory=dict)
    since_param: str | None = None
    format: Callable[[str], str] = str
    build: Callable[[Stream, str], Request] | None = None
    page_size: int | None = None
    # how long the provider keeps serving a deleted record; a check whose last run is
    # older than this scans ids instead (None: kept for good, as Mailchimp's archive)
    kept_days: int | None = None


@dataclass(frozen=True)
class IdScan:
    """Every id of a stream and nothing else: the reconciliation read that finds deletions
    where the provider keeps no record of them, at a fraction of a full read's bytes.

    The stream's request with ``params`` merged in (HubSpot ``properties=hs_object_id``,
    Mailchimp ``fields=members.id,total_items``), or ``build(stream)`` (SOQL ``SELECT Id``).
    ``total`` names the provider's count of the whole list where it sends one: a scan
    whose distinct ids do not add up to it (a record deleted mid-scan shifted an offset
    page) did not see everything, and says so.
    """

    params: dict[str, Any] = field(default_factory=dict)
    build: Callable[[Stream], Request] | None = None
    page_size: int | None = None
    total: str | None = None


@dataclass(frozen=True)
class Total:
    """The provider's own count of a stream's records, in one cheap call: what
    reconciliation compares our count with (HubSpot search ``total``, Mailchimp
    ``total_items``, Salesforce ``SELECT COUNT()``'s ``totalSize``).

    The stream's request with ``params`` merged in (None removes one), or ``build(stream)``;
    ``total`` is the dotted path of the count in the answer.
    """

    total: str
    params: dict[str, Any] = field(default_factory=dict)
    build: Callable[[Stream], Request] | None = None


@dataclass(frozen=True)
class ByIds:
    """Read named records, up to ``max_ids`` a call (HubSpot ``batch/read``, Salesforce
    sObject Collections GET), in the shape the stream's own pages have: reconciliation
    fetches exactly the ids it found missing instead of reading the whole stream.
    ``records`` is the dotted path of the record list ("" for the body itself); ids the
    provider no longer has are left out (or answered null, which is dropped)."""

    build: Callable[[Stream, list[str]], Request]
    max_ids: int
    records: str = ""


@dataclass(frozen=True)
class Stream:
    name: str
    path: str  # may hold {placeholders} filled from the integration's settings
    records: str  # dotted path of the record list in a response body
    paginator: Paginator
    primary_key: str = "id"
    cursor_field: str | None = None  # dotted path inside a record; ISO-8601 or epoch ms
    method: str = "GET"
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    delta: Delta | None = None
    page_size: int = 100
    fields: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # integration settings the path needs, e.g. list_id
    deletions: Deletions | None = None  # where the provider serves deleted records
    id_scan: IdScan | None = None  # where it does not (or not all): read every id instead
    total: Total | None = None  # the provider's count of the stream, where it gives one
    by_ids: ByIds | None = None  # a batch read by id, where the provider has one
    read_only: tuple[str, ...] = ()  # of ``fields``, those the provider sets itself

    def writable(self) -> tuple[str, ...]:
        """The fields a write may set: ``fields`` less the provider's own (read-only ones,
        the primary key and the cursor field)."""
        own = {*self.read_only, self.primary_key, *(
            [self.cursor_field] if self.cursor_field else [])}
        return tuple(f for f in self.fields if f not in own)
    # one record by its id ("/crm/v3/objects/contacts/{id}"), the answer being the record;
    # what a workflow reads when an event names a record but does not carry it
    one: str | None = None

    def key(self, record: dict[str, Any]) -> str:
        """The record's identity; a compound ``primary_key`` ("campaign.id,segments.date")
        names its parts comma-separated and they are joined with "|"."""
        name = self.primary_key
        if name and isinstance(record, dict) and "," not in name and "." not in name:
            return str(record.get(name))  # one top-level key (most streams): dig's answer
        return "|".join(str(dig(record, part.strip())) for part in self.primary_key.split(","))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "primary_key": self.primary_key,
                "cursor_field": self.cursor_field, "incremental": self.delta is not None,
                "page_size": self.page_size, "fields": list(self.fields),
                "needs_settings": list(self.settings),
                "deletions": ("provider" if self.deletions is not None
                              else "id_scan" if self.id_scan is not None else None),
                "id_scan": self.id_scan is not None, "total": self.total is not None,
                "read_by_id": self.by_ids is not None}


@dataclass(frozen=True)
class WriteResult:
    ok: int
    failed: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    # per record, by its index in the records given: the provider's id of each one it
    # took and why it refused each one it refused, where its answer tells them apart
    # (a sync needs to know which of its records did what; ``ids`` alone does not say)
    written: dict[int, str] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Write:
    """A batch write: ``body`` builds one request body from up to ``batch_size`` records
    (with ``with_context``, also from the integration's settings: ``body(records, context)``);
    ``result`` reads per-record outcomes from the response."""

    name: str
    method: str
    path: str
    batch_size: int
    body: Callable[..., Any]
    result: Callable[[httpx.Response, list[dict[str, Any]]], WriteResult]
    kind: str = "upsert"
    settings: tuple[str, ...] = ()
    form: bool = False  # send the body form-encoded instead of JSON
    with_context: bool = False  # the body needs settings (Graph batch: the ad account)
    # the record field that says which record is meant: what an upsert matches on (an
    # e-mail address, an external-id field), or what carries the provider's id for an
    # update; may hold {placeholders} from the context. None: a write no sync may repeat
    # safely (a create), so outbound flows do not use it
    key: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "batch_size": self.batch_size,
                "needs_settings": list(self.settings), "key": self.key}


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    url: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass(frozen=True)
class InboundEvent:
    event_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WebhookReply:
    """What the provider expects back: most take any 2xx, some want a particular body."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b'{"ok":true}'


@dataclass(frozen=True)
class Webhooks:
    """``verify`` raises WebhookRejected; ``events`` splits a delivery into events.

    ``handshake`` answers the provider's set-up checks (Slack's url_verification,
    Meta's hub.challenge GET, Mailchimp's validation GET) and returns None for an
    ordinary delivery; it raises WebhookRejected when the check itself is forged. It
    runs before ``verify``, so it verifies before reading a body (Slack) unless the
    handshake carries its own proof (Meta's hub.verify_token), and is safe on any
    input. ``events`` sees only verified deliveries and raises WebhookMalformed for a
    body of the wrong shape.
    ``ack`` is the reply to an accepted delivery (Salesforce wants a SOAP Ack).
    ``streams`` says which stream an event concerns, as (event type pattern, stream)
    pairs with fnmatch patterns (HubSpot ``("contact.*", "contacts")``): a realtime data
    flow of that stream syncs when such an event arrives (jobs/sync/realtime.py).
    ``subject`` names the record an event is about when the event does not carry it, so a
    workflow can read it once (``Connector.read_one``) before its actions run.
    """

    verify: Callable[[WebhookRequest, dict[str, Any]], None]
    events: Callable[[WebhookRequest], list[InboundEvent]]
    secret_field: str = "webhook_secret"
    handshake: Callable[[WebhookRequest, dict[str, Any]], WebhookReply | None] | None = None
    ack: WebhookReply | None = None
    streams: tuple[tuple[str, str], ...] = ()

    def streams_for(self, event_type: str) -> set[str]:
        """The streams an event of this type concerns; empty for one about none."""
        return {stream for pattern, stream in self.streams
                if fnmatch.fnmatchcase(event_type, pattern)}
    # for events that name a record without carrying it (HubSpot's carry only objectId):
    # (stream, record id) to read it by, from the event's payload; None to read nothing
    subject: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None


@dataclass(frozen=True)
class EndpointLimit:
    """A documented limit of some endpoints, counted on top of the account's general one.

    ``path`` is an fnmatch pattern over the request path relative to the base URL, query
    left off; ``method`` None matches any method. With ``per_param`` each value of that
    request parameter (query, JSON or form) gets a window of its own: Slack's
    chat.postMessage allows about one message a second *per channel*.
    """

    name: str
    path: str
    requests: int
    per_seconds: float
    method: str | None = None
    per_param: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method.upper())
                and fnmatch.fnmatchcase(path.split("?", 1)[0], self.path))

    def bucket(self, request: Request) -> str:
        """The name of the window this request counts in."""
        if self.per_param is None:
            return self.name
        value = None
        for source in (request.params, request.json, request.data):
            if isinstance(source, dict) and source.get(self.per_param) is not None:
                value = source[self.per_param]
                break
        if value is None and "?" in request.path:
            value = dict(parse_qsl(request.path.split("?", 1)[1])).get(self.per_param)
        return f"{self.name}:{value if value is not None else '-'}"


@dataclass(frozen=True)
class RateLimit:
    """Documented limits; ``None`` where the provider sets none.

    ``requests`` per ``per_seconds`` (a rolling window) and ``daily`` are the general
    account limits; ``endpoints`` add per-endpoint limits, the first match applying.
    """

    requests: int | None = None
    per_seconds: float = 1.0
    daily: int | None = None
    concurrency: int | None = None
    endpoints: tuple[EndpointLimit, ...] = ()

    def endpoint(self, request: Request) -> EndpointLimit | None:
        for limit in self.endpoints:
            if limit.matches(request.method, request.path):
                return limit
        return None


@dataclass(frozen=True)
class Usage:
    """What a response's headers say about the quota left (fractions 0..1), and, where the
    provider gives them as numbers, the calls it has counted and its limit for the window
    (HubSpot's day, Salesforce's rolling 24 hours)."""

    remaining_fraction: float | None = None
    resets_at: datetime | None = None
    used: int | None = None
    limit: int | None = None


@dataclass(frozen=True)
class ConnectionTest:
    """The one cheap authenticated call that says whether a connection works; the
    connector answers it with a ``ConnectionResult`` and tools/ with a report a person
    reads (the result and the integration's status after it)."""

    request: Request
    describe: Callable[[Any], str]  # body -> "Connected to portal 123 as ..."


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    base_url: str  # may hold {placeholders} from context() (dc, instance_url ...)
    sandbox_base: str  # the same API on the simulator, below the sandbox URL: "/hubspot"
    auth: AuthScheme
    streams: tuple[Stream, ...]
    writes: tuple[Write, ...]
    connection_test: ConnectionTest
    rate_limit: RateLimit = RateLimit()
    webhooks: Webhooks | None = None
    # response -> error, or None when the response is a success; see http.classify
    classify: Callable[[httpx.Response, Any], ProviderError | None] | None = None
    usage: Callable[[httpx.Response], Usage] | None = None
    # what one request costs against the provider's quota, where that is not one per call
    # (a Google Ads mutate counts each of its operations)
    cost: Callable[[Request], int] | None = None
    # the fields of credentials/settings that tell one provider account from another
    account_fields: tuple[str, ...] = ("access_token", "api_key")
    # values for {placeholders} in base_url and paths, from credentials and settings
    context: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    # the simulator's (authorize, token) paths below the sandbox URL
    sandbox_oauth: tuple[str, str] | None = None
    # other hosts an absolute path or next link may point at (Zapier's hooks host)
    trusted_hosts: tuple[str, ...] = ()
    # the catalogue row a new provider gets when it has none yet (tools/catalogue.py)
    display_name: str = ""
    category: str = "other"
    description: str = ""
    webhook_events: tuple[str, ...] = ()
    # how the demo tenant connects to the simulator with its fixed demo credential:
    # {"credentials": {...}, "settings": {...}}
    sandbox_demo: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        known = ", ".join(s.name for s in self.streams) or "none"
        raise KeyError(f"{self.name} has no stream {name!r} (streams: {known})")

    def write(self, name: str) -> Write:
        for write in self.writes:
            if write.name == name:
                return write
        known = ", ".join(w.name for w in self.writes) or "none"
        raise KeyError(f"{self.name} has no write {name!r} (writes: {known})")
