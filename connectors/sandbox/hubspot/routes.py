"""HubSpot simulator: CRM v3 objects, search, batch writes, OAuth and signed webhooks.

Covers, under ``/hubspot``: ``/crm/v3/objects/{contacts|companies|deals}`` (also
``0-1/0-2/0-3``) list (``limit`` ≤ 100, id cursor ``after``, ``properties``,
``archived``), get one (``idProperty``), create/PATCH/DELETE, ``batch/read|create|
update|upsert|archive`` (≤ 100 inputs, 207 with ``errors[]`` on partial failure) and
``search`` (filterGroups, one sort, ``limit`` ≤ 200, 10,000-result cap, offset
``after``); delta reads filter ``lastmodifieddate`` (contacts) or
``hs_lastmodifieddate`` in epoch ms. Errors use HubSpot's ``{status, message,
correlationId, category, context?, errors?}``; expired OAuth tokens answer 401
``EXPIRED_AUTHENTICATION``. Rate limits are real windows per token (190 per 10 s
rolling and 1,000,000 per day by default, ``X-HubSpot-RateLimit-*`` headers, the
daily pair only for private-app tokens, 5 searches per second with no headers);
set them with ``POST /hubspot/_sandbox/limits``. OAuth: ``/oauth/authorize`` (auto
consent, PKCE), ``/oauth/v1/token`` and ``/oauth/v3/token`` (auth code and refresh,
``expires_in`` 1800), ``/oauth/v1/access-tokens/{token}``. Webhooks are signed with
X-HubSpot-Signature-v3 plus the legacy v1 signature.

Not covered: associations, property history, other object types, the properties
and pipelines APIs, scopes (every token may do everything), and HubSpot's
eventual consistency (writes are searchable at once). Searches filtering on
anything but id, ``createdate``, the last-modified property or email scan the
generated records, so they cost O(count).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.hubspot import search
from connectors.sandbox.hubspot.data import (
    PORTAL_ID,
    SINGULAR,
    Crm,
    CrmError,
    clean_properties,
    object_name,
    render,
    valid_email,
)
from connectors.sandbox.hubspot.http import (
    APP_ID,
    DEMO_TOKEN,
    Guard,
    batch_inputs,
    batch_response,
    crm_error,
    flag,
    hs_error,
    item_error,
    oauth_routes,
    split_names,
)
from connectors.sandbox.hubspot.state import Box
from connectors.sandbox.kit.wire import iso

NAME = "hubspot"
WEBHOOK_TIMEOUT_S = 5.0  # HubSpot gives a target URL five seconds to answer
__all__ = ["DEMO_TOKEN", "NAME", "create_router", "signature_v3", "webhook_delivery"]
# HubSpot decodes these escapes in the request URI before computing signature v3.
_URI_ESCAPES = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
                "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    """Base64 HMAC-SHA256 over method + decoded URI + raw body + timestamp (HubSpot v3)."""
    for escaped, plain in _URI_ESCAPES.items():
        uri = uri.replace(escaped, plain).replace(escaped.lower(), plain)
    source = method.upper().encode() + uri.encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """The headers and JSON-array body HubSpot would POST to an app's target URL."""
    items = payload if isinstance(payload, list) else [payload or {}]
    now_ms = int(time.time() * 1000)
    events = []
    for n, item in enumerate(items):
        box.state.event_seq += 1
        event = {"eventId": 100 + box.state.event_seq, "subscriptionId": 2_000_001,
                 "portalId": PORTAL_ID, "appId": APP_ID, "occurredAt": now_ms - n,
                 "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
                 "objectId": 1001, "changeSource": "CRM", "propertyName": "email",
                 "propertyValue": "ada.lovelace.0@acme.example"}
        event.update(item if isinstance(item, dict) else {})
        if not str(event["subscriptionType"]).endswith("propertyChange"):
            event.pop("propertyName", None)
            event.pop("propertyValue", None)
        events.append(event)
    body = json.dumps(events, separators=(",", ":")).encode()
    stamp = str(now_ms)
    legacy = hashlib.sha256(box.client_secret.encode() + body).hexdigest()
    headers = {"Content-Type": "application/json",
               "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
               "X-HubSpot-Signature-v3": signature_v3(box.client_secret, "POST", target_url,
                                                      body, stamp),
               "X-HubSpot-Request-Timestamp": stamp,
               "X-HubSpot-Signature": legacy, "X-HubSpot-Signature-Version": "v1"}
    return headers, body


def create_router(box: Box) -> APIRouter:
    router = APIRouter()
    guard = Guard(box)

    def crm() -> Crm:
        return Crm(box)

    async def json_body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError as exc:
            raise CrmError(400, "Invalid input JSON: the body is not valid JSON") from exc

    def after_read(obj: str) -> None:
        if box.count_data_call():
            crm().touch(obj, 0)

    @router.get("/crm/v3/objects/{object_type}")
    async def list_objects(request: Request, object_type: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        try:
            obj, q = object_name(object_type), request.query_params
            limit = search.to_int(q.get("limit", 10), "limit")
            if not 1 <= limit <= 100:
                raise CrmError(400, f"limit must be between 1 and 100 (got {limit})")
            after = search.to_int(q.get("after") or 0, "after")
            archived = flag(q.get("archived"), "archived")
            rows, next_after = crm().list_page(obj, after, limit, archived)
        except CrmError as exc:
            return crm_error(exc, headers)
        wanted = split_names(q.getlist("properties"))
        body: dict[str, Any] = {"results": [render(r, obj, wanted) for r in rows]}
        if next_after:
            link = str(request.url.include_query_params(after=next_after))
            body["paging"] = {"next": {"after": next_after, "link": link}}
        after_read(obj)
        return JSONResponse(body, headers=headers)

    @router.get("/crm/v3/objects/{object_type}/{object_id}")
    async def get_object(request: Request, object_type: str, object_id: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        q = request.query_params
        try:
            obj = object_name(object_type)
            if flag(q.get("archived"), "archived"):
                record = crm().archived(obj, object_id)
            else:
                record = crm().find(obj, object_id, q.get("idProperty"))
        except CrmError as exc:
            return crm_error(exc, headers)
        if record is None:
            return hs_error(404, "Object not found.  objectId are usually numeric.",
                            "OBJECT_NOT_FOUND", context={"id": [object_id]}, headers=headers)
        after_read(obj)
        wanted = split_names(q.getlist("properties"))
        return JSONResponse(render(record, obj, wanted), headers=headers)

    @router.post("/crm/v3/objects/{object_type}/batch/read")
    async def batch_read(request: Request, object_type: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        started = iso(time.time())
        try:
            obj, body = object_name(object_type), await json_body(request)
            inputs, store = batch_inputs(body), crm()
            found, missing = [], []
            for item in inputs:
                record = store.find(obj, str(item.get("id", "")), body.get("idProperty"))
                if record is None:
                    missing.append(str(item.get("id")))
                else:
                    found.append(record)
        except CrmError as exc:
            return crm_error(exc, headers)
        wanted = body.get("properties") or None
        errors = [item_error("OBJECT_NOT_FOUND", f"Could not get some {SINGULAR[obj]} objects, "
                             "they may be deleted or not exist. Check that ids are valid.",
                             {"ids": missing})] if missing else []
        after_read(obj)
        rows = [render(r, obj, wanted) for r in found]
        return batch_response(rows, errors, started, 200, headers)

    @router.post("/crm/v3/objects/{object_type}/search")
    async def search_objects(request: Request, object_type: str) -> Response:
        headers = await guard.begin(request, kind="search")
        if isinstance(headers, Response):
            return headers
        try:
            obj = object_name(object_type)
            query = search.parse(obj, await json_body(request))
            result = search.run(crm(), query)
        except CrmError as exc:
            return crm_error(exc, headers)
        result["results"] = [render(r, obj, query.properties) for r in result["results"]]
        after_read(obj)
        return JSONResponse(result)

    def write_one(obj: str, item: dict[str, Any], store: Crm, mode: str,
                  id_property: str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Apply one batch input; returns (result, error)."""
        props, problems = clean_properties(obj, item.get("properties"))
        key = str(item.get("id", ""))
        ctx = {"objectWriteTraceId": [item["objectWriteTraceId"]]} \
            if item.get("objectWriteTraceId") else {"ids": [key]} if key else {}
        if problems:
            return None, item_error("VALIDATION_ERROR", "Property values were not valid", ctx,
                                    problems)
        id_property = item.get("idProperty") or id_property
        existing = store.find(obj, key, id_property) if mode != "create" else None
        email = props.get("email")
        if obj == "contacts" and email:
            owner = store.find(obj, email, "email")
            if owner is not None and (existing is None or owner["id"] != existing["id"]):
                return None, item_error("CONFLICT", f"Contact already exists. Existing ID: "
                                                    f"{owner['id']}", ctx)
        if mode == "create":
            return store.create(obj, props), None
        if existing is not None:
            record = store.update(obj, existing, props)
            return ({**record, "new": False} if mode == "upsert" else record), None
        if mode == "upsert" and id_property == "email" and valid_email(key):
            return {**store.create(obj, {**props, "email": key}), "new": True}, None
        return None, item_error("OBJECT_NOT_FOUND", f"Could not find {SINGULAR[obj]} {key}",
                                {"ids": [key]})

    @router.post("/crm/v3/objects/{object_type}/batch/{action}")
    async def batch_write(request: Request, object_type: str, action: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        started = iso(time.time())
        try:
            obj = object_name(object_type)
            if action not in ("create", "update", "upsert", "archive"):
                raise CrmError(404, f"Unknown batch action: {action}", "OBJECT_NOT_FOUND")
            body = await json_body(request)
            inputs, store = batch_inputs(body), crm()
        except CrmError as exc:
            return crm_error(exc, headers)
        box.state.batches.append({"object": obj, "action": action, "inputs": len(inputs)})
        if action == "archive":
            for item in inputs:
                store.archive(obj, str(item.get("id", "")))
            return Response(status_code=204, headers=headers)
        if action == "create" and not all(i.get("objectWriteTraceId") for i in inputs):
            # Without per-input trace ids HubSpot fails the whole create batch atomically.
            for item in inputs:
                props, problems = clean_properties(obj, item.get("properties"))
                email = props.get("email")
                owner = store.find(obj, email, "email") if obj == "contacts" and email else None
                if problems:
                    return hs_error(400, "Property values were not valid", "VALIDATION_ERROR",
                                    errors=problems, headers=headers)
                if owner:
                    return hs_error(409, f"Contact already exists. Existing ID: {owner['id']}",
                                    "CONFLICT", headers=headers)
        results, errors = [], []
        for item in inputs:
            result, error = write_one(obj, item, store, action, body.get("idProperty"))
            if result is not None:
                results.append(result)
            elif error is not None:
                errors.append(error)
        return batch_response(results, errors, started, 201 if action == "create" else 200, headers)

    @router.post("/crm/v3/objects/{object_type}")
    async def create_object(request: Request, object_type: str) -> Response:
        return await single_write(request, object_type, None, "create")

    @router.patch("/crm/v3/objects/{object_type}/{object_id}")
    async def update_object(request: Request, object_type: str, object_id: str) -> Response:
        return await single_write(request, object_type, object_id, "update")

    async def single_write(request: Request, object_type: str, object_id: str | None,
                           mode: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        try:
            obj, body = object_name(object_type), await json_body(request)
            item = {"properties": body.get("properties") if isinstance(body, dict) else None,
                    "id": object_id}
            result, error = write_one(obj, item, crm(), mode, request.query_params.get(
                "idProperty"))
        except CrmError as exc:
            return crm_error(exc, headers)
        if error:
            status = {"CONFLICT": 409, "OBJECT_NOT_FOUND": 404}.get(error["category"], 400)
            return hs_error(status, error["message"], error["category"],
                            errors=error["errors"] or None, headers=headers)
        assert result is not None
        return JSONResponse(result, status_code=201 if mode == "create" else 200, headers=headers)

    @router.delete("/crm/v3/objects/{object_type}/{object_id}")
    async def archive_object(request: Request, object_type: str, object_id: str) -> Response:
        headers = await guard.begin(request)
        if isinstance(headers, Response):
            return headers
        try:
            crm().archive(object_name(object_type), object_id)
        except CrmError as exc:
            return crm_error(exc, headers)
        return Response(status_code=204, headers=headers)

    oauth_routes(router, box, guard)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, path: str) -> Response:
        guard.note(request)
        return hs_error(404, f"Resource not found: {request.method} /{path}", "OBJECT_NOT_FOUND")

    return router
