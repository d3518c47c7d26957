"""Salesforce REST API simulator, served under ``/salesforce`` (the ``instance_url``).

Covers: ``GET /services/data/`` (versions, no auth) and ``/services/data/vNN.N/...``
for any version (v62.0 advertised); SOQL ``query`` / ``queryAll`` over Account,
Contact, Lead, Opportunity (default 800 / 3000 / 1200 / 900, generated lazily) with
the subset in ``soql`` (field lists, ``COUNT()``, modstamp ranges,
``IsDeleted``, ``ORDER BY SystemModstamp ASC``, ``LIMIT``), ``Sforce-Query-Options:
batchSize=N`` clamped to 200..2000 (default 2000), ``nextRecordsUrl`` cursors frozen
when the query ran, and ``INVALID_TYPE`` / ``INVALID_FIELD`` / ``MALFORMED_QUERY`` in
Salesforce's message layout; sObject rows (GET ``?fields=``, POST, PATCH, DELETE),
upsert and read by the external id ``External_Id__c``, ``describe``, ``updated`` and
``deleted``; sObject Collections (``collections``: 200 records max,
``allOrNone``); ``/limits``. Every response carries ``Sforce-Limit-Info:
api-usage=N/M``, M = ``box.state.daily_api_allocation`` (default 15,000, counted
per org as Salesforce does); once spent, 403 ``REQUEST_LIMIT_EXCEEDED``.

OAuth (``oauth``): authorize (auto-consent, PKCE S256), token
(authorization_code, refresh_token; no ``expires_in``; ``signature`` = base64
HMAC-SHA256(client secret, id + issued_at)), userinfo and the identity URL.

Faults: Salesforce has no 429 and no Retry-After, so the 429 fault is a 403
``REQUEST_LIMIT_EXCEEDED`` (concurrent-request limit) and the 5xx fault a 503, both
with the usual error array. A bad or expired token is 401 ``INVALID_SESSION_ID``
"Session expired or invalid", the cue to refresh.

Webhooks: Salesforce signs nothing. The simulator sends an Outbound Message (SOAP,
``text/xml``, built by ``outbound_message``); the receiver authenticates it by the
``OrganizationId`` in the envelope (``box.state.org_id``) plus a secret in its own
endpoint URL: Connectus registers ``...?token=<box.webhook_secret>``.
``POST /_sandbox/webhooks/deliver`` sends one; its reply body shows the SOAP Ack.

Not covered: Bulk API, ``/composite`` subrequests, SOSL, relationship queries, other
SOQL filters and date literals (refused as sandbox limitations, never ignored),
field types beyond email checks, the 30-day limit of ``updated``, Pub/Sub and CDC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.salesforce import collections, oauth
from connectors.sandbox.salesforce.data import (
    CATALOG,
    DEMO_TOKEN,
    canonical_field,
    describe,
    field_errors,
    make_id,
    no_such_column,
    outbound_message,
    record_id,
    render,
)
from connectors.sandbox.salesforce.query import batch_size, build_view, serve_batch
from connectors.sandbox.salesforce.soql import SoqlError, parse_soql
from connectors.sandbox.salesforce.state import Box
from connectors.sandbox.salesforce.store import (
    current,
    delete,
    find_external,
    mutate_first_records,
    resolve_id,
    sobject_name,
    write,
)

NAME = "salesforce"
API_VERSION = "v62.0"
__all__ = ["API_VERSION", "DEMO_TOKEN", "NAME", "create_router", "outbound_message",
           "webhook_delivery"]

_VERSIONS = [("Summer '24", "61.0"), ("Winter '25", "62.0")]
Handler = Callable[[Box, Request, str, re.Match[str]], Awaitable[Response]]


def error_response(box: Box, status: int, code: str, message: str,
                   fields: list[str] | None = None) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return ok_response(box, [item], status)


def ok_response(box: Box, body: Any, status: int = 200) -> Response:
    st = box.state
    headers = {"Sforce-Limit-Info": f"api-usage={st.used}/{box.state.daily_api_allocation}"}
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def log_request(box: Box, request: Request) -> None:
    box.log(request)
    box.state.instance_url = str(request.base_url).rstrip("/") + "/" + NAME


async def _gate(box: Box, request: Request) -> Response | None:
    """Fault, then session, then the org's daily allocation: the order Salesforce answers in."""
    fault = await box.before_call()
    if fault == "429":
        return error_response(box, 403, "REQUEST_LIMIT_EXCEEDED",
                              "ConcurrentPerOrgLongTxn Limit exceeded.")
    if fault == "5xx":
        return error_response(box, 503, "SERVER_UNAVAILABLE",
                              "Server temporarily unavailable. Please try again later.")
    if oauth.tokens(box).check(oauth.bearer(request)) != "ok":
        return error_response(box, 401, "INVALID_SESSION_ID", "Session expired or invalid")
    st = box.state
    if st.used >= box.state.daily_api_allocation:
        return error_response(box, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    st.used += 1
    return None


# --- query -------------------------------------------------------------------------------

async def _query(box: Box, request: Request, version: str,
                 m: re.Match[str]) -> Response:
    if box.count_data_call():
        mutate_first_records(box)
    text = request.query_params.get("q")
    if text is None:
        return error_response(box, 400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        query = parse_soql(text, CATALOG)
    except SoqlError as exc:
        return error_response(box, 400, exc.code, exc.message)
    view = build_view(box, query, m.group(1) == "queryAll")
    total = view.total if query.limit is None else min(view.total, query.limit)
    if query.count_only:
        return ok_response(box, {"totalSize": total, "done": True, "records": []})
    cursor = {"sobject": query.sobject, "fields": query.fields, "view": view, "total": total,
              "batch": batch_size(request.headers.get("Sforce-Query-Options", "")),
              "version": version, "endpoint": m.group(1)}
    return ok_response(box, serve_batch(box, cursor, 0))


async def _query_more(box: Box, request: Request, version: str,
                      m: re.Match[str]) -> Response:
    if box.count_data_call():
        mutate_first_records(box)
    cursor = box.state.cursors.get(m.group("locator"))
    offset = int(m.group("offset"))
    if cursor is None or offset > cursor["total"]:
        return error_response(box, 400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return ok_response(box, serve_batch(box, cursor, offset))


# --- sObject rows --------------------------------------------------------------------------

async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise collections.BadRequest("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc


def _not_found(box: Box) -> Response:
    return error_response(box, 404, "NOT_FOUND", "The requested resource does not exist")


async def _create(box: Box, request: Request, version: str,
                  m: re.Match[str]) -> Response:
    obj = sobject_name(m.group("obj"))
    if obj is None:
        return _not_found(box)
    result = collections.create_one(box, obj, await _json(request))
    if not result["success"]:
        first = result["errors"][0]
        return error_response(box, 400, first["statusCode"], first["message"], first["fields"])
    return ok_response(box, result, 201)


async def _row(box: Box, request: Request, version: str,
               m: re.Match[str]) -> Response:
    obj = sobject_name(m.group("obj"))
    if obj is None:
        return _not_found(box)
    rid = resolve_id(obj, m.group("id"))
    if rid is None:  # Salesforce reads a non-Id segment as an external-id field name
        return error_response(box, 404, "NOT_FOUND", "Provided external ID field does not exist "
                              f"or is not accessible: {m.group('id')}")
    return await _one_record(box, request, version, obj, rid)


async def _one_record(box: Box, request: Request, version: str, obj: str,
                      rid: str) -> Response:
    found = current(box, obj, rid)
    if found is None:
        return _not_found(box)
    if found[2]:
        return error_response(box, 404, "ENTITY_IS_DELETED", "entity is deleted", [])
    if request.method == "DELETE":
        delete(box, obj, rid)
        return ok_response(box, None, 204)
    if request.method == "PATCH":
        body = await _json(request)
        errors = field_errors(obj, body, creating=False)
        if errors:
            return error_response(box, 400, errors[0]["statusCode"], errors[0]["message"],
                                  errors[0]["fields"])
        write(box, obj, body, rid)
        return ok_response(box, None, 204)
    if box.count_data_call():
        mutate_first_records(box)
        found = current(box, obj, rid) or found
    wanted = None
    if "fields" in request.query_params:
        wanted = []
        for name in request.query_params["fields"].split(","):
            canonical = canonical_field(obj, name.strip())
            if canonical is None:
                return error_response(box, 400, "INVALID_FIELD", no_such_column(name.strip(), obj))
            wanted.append(canonical)
    return ok_response(box, render(obj, found[0], found[1], version, wanted))


async def _external(box: Box, request: Request, version: str,
                    m: re.Match[str]) -> Response:
    obj = sobject_name(m.group("obj"))
    if obj is None:
        return _not_found(box)
    field = canonical_field(obj, m.group("field"))
    if field is None or not CATALOG[obj][field].external_id:
        return error_response(box, 404, "NOT_FOUND", "Provided external ID field does not exist "
                              f"or is not accessible: {m.group('field')}")
    hits = find_external(box, obj, m.group("value"))
    if len(hits) > 1:
        return ok_response(box, [f"/services/data/{version}/sobjects/{obj}/{h}" for h in hits], 300)
    if request.method == "PATCH":
        result = collections.upsert_one(box, obj, field, m.group("value"), await _json(request))
        if not result["success"]:
            first = result["errors"][0]
            return error_response(box, 400, first["statusCode"], first["message"], first["fields"])
        if not result["created"] and float(version[1:]) < 46:
            return ok_response(box, None, 204)  # before v46.0 an upsert-update had no body
        return ok_response(box, result, 201 if result["created"] else 200)
    if not hits:
        return _not_found(box)
    return await _one_record(box, request, version, obj, hits[0])


async def _describe(box: Box, request: Request, version: str,
                    m: re.Match[str]) -> Response:
    obj = sobject_name(m.group("obj"))
    if obj is None:
        return _not_found(box)
    return ok_response(box, describe(obj))


async def _replication(box: Box, request: Request, version: str,
                       m: re.Match[str]) -> Response:
    obj = sobject_name(m.group("obj"))
    if obj is None:
        return _not_found(box)
    if box.count_data_call():
        mutate_first_records(box)
    try:
        result = collections.replication(box, obj, m.group("kind"),
                                         request.query_params.get("start"),
                                         request.query_params.get("end"))
    except collections.BadRequest as exc:
        return error_response(box, 400, exc.code, exc.message)
    return ok_response(box, result)


async def _limits(box: Box, request: Request, version: str,
                  m: re.Match[str]) -> Response:
    allocation = box.state.daily_api_allocation
    used = box.state.used
    return ok_response(box, {
        "DailyApiRequests": {"Max": allocation, "Remaining": max(0, allocation - used)},
        "DailyBulkApiBatches": {"Max": 15_000, "Remaining": 15_000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "SingleEmail": {"Max": 15, "Remaining": 15},
    })


async def _resources(box: Box, request: Request, version: str,
                     m: re.Match[str]) -> Response:
    base = f"/services/data/{version}"
    return ok_response(box, {name: f"{base}/{name}" for name in
                             ("sobjects", "query", "queryAll", "limits", "composite")})


async def _collections(box: Box, request: Request, version: str,
                       m: re.Match[str]) -> Response:
    body = None if request.method in ("GET", "DELETE") else await _json(request)
    status, result = collections.dispatch(box, request.method, m.group("obj"), m.group("field"),
                                          dict(request.query_params), body, version)
    return ok_response(box, result, status)


_ROUTES: list[tuple[frozenset[str], re.Pattern[str], Handler]] = [
    (frozenset({"GET"}), re.compile(r""), _resources),
    (frozenset({"GET"}), re.compile(r"limits/?"), _limits),
    (frozenset({"GET"}), re.compile(r"(query|queryAll)/?"), _query),
    (frozenset({"GET"}), re.compile(r"(query|queryAll)/(?P<locator>\w+)-(?P<offset>\d+)"),
     _query_more),
    (frozenset({"GET"}), re.compile(r"sobjects/(?P<obj>\w+)/(?P<kind>updated|deleted)/?"),
     _replication),
    (frozenset({"GET"}), re.compile(r"sobjects/(?P<obj>\w+)/describe/?"), _describe),
    (frozenset({"POST"}), re.compile(r"sobjects/(?P<obj>\w+)/?"), _create),
    (frozenset({"GET", "PATCH", "DELETE"}), re.compile(r"sobjects/(?P<obj>\w+)/(?P<id>[^/]+)"),
     _row),
    (frozenset({"GET", "PATCH", "DELETE"}),
     re.compile(r"sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>[^/]+)"), _external),
    (frozenset({"GET", "POST", "PATCH", "DELETE"}),
     re.compile(r"composite/sobjects(?:/(?P<obj>\w+)(?:/(?P<field>\w+))?)?/?"), _collections),
]


async def _dispatch(box: Box, request: Request, version: str, rest: str) -> Response:
    if not re.fullmatch(r"v\d+\.\d", version):
        return _not_found(box)
    denied = await _gate(box, request)
    if denied is not None:
        return denied
    allowed: set[str] = set()
    for methods, pattern, handler in _ROUTES:
        match = pattern.fullmatch(rest)
        if match is None:
            continue
        if request.method not in methods:
            allowed |= methods
            continue
        try:
            return await handler(box, request, version, match)
        except collections.BadRequest as exc:
            return error_response(box, 400, exc.code, exc.message)
    if allowed:
        return error_response(box, 405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' "
                              f"not allowed. Allowed are {','.join(sorted(allowed))}")
    return _not_found(box)


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """An Outbound Message for ``payload`` = ``{"object": "Contact", "records": [{...}]}``.

    Without ``records`` the current record 0 of the object is sent. Nothing is signed:
    ``target_url`` is expected to carry Connectus's ``?token=`` secret already.
    """
    obj = sobject_name(str(payload.get("object", "Contact"))) or "Contact"
    records = payload.get("records")
    if not records:
        found = current(box, obj, record_id(obj, 0))
        records = [found[0]] if found else []
    st = box.state
    org = box.state.org_id
    instance = st.instance_url or f"https://sandbox.my.salesforce.com/{NAME}"
    notifications = []
    for rec in records:
        st.serial += 1
        notifications.append((make_id("04l", st.serial), obj, dict(rec)))
    body = outbound_message(
        org, str(payload.get("action_id") or make_id("04k", 1)), notifications,
        enterprise_url=f"{instance}/services/Soap/c/{API_VERSION[1:]}/{org}",
        partner_url=f"{instance}/services/Soap/u/{API_VERSION[1:]}/{org}",
        session_id=payload.get("session_id"))
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, body


def create_router(box: Box) -> APIRouter:
    router = APIRouter()
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    @router.get("/services/data")
    @router.get("/services/data/")
    async def versions(request: Request) -> Response:
        log_request(box, request)
        return ok_response(box, [{"label": label, "url": f"/services/data/v{v}", "version": v}
                                 for label, v in _VERSIONS])

    @router.api_route("/services/data/{version}", methods=methods)
    @router.api_route("/services/data/{version}/{rest:path}", methods=methods)
    async def data(request: Request, version: str, rest: str = "") -> Response:
        log_request(box, request)
        return await _dispatch(box, request, version, rest.strip("/"))

    oauth.add_routes(router, box, log_request)

    @router.api_route("/{rest:path}", methods=methods)
    async def unknown(request: Request, rest: str) -> Response:
        log_request(box, request)
        return _not_found(box)

    return router

