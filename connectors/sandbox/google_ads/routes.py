"""Google Ads simulator: REST GAQL search/searchStream, campaign mutates, conversion uploads.

Covers, under ``/google_ads``: ``/v{18..26}/customers:listAccessibleCustomers`` (two
customers), ``/v{N}/customers/{id}/googleAds:search`` (fixed 10,000-row pages, opaque
``nextPageToken`` bound to the query, ``returnTotalResultsCount``, ``fieldMask``,
``validateOnly``; ``pageSize`` is refused with PAGE_SIZE_NOT_SUPPORTED) and
``:searchStream`` (a JSON array of <= 10,000-row batches, streamed). GAQL: ``SELECT``
fields of campaign, ad_group, customer, metrics and segments.date ``FROM
campaign|ad_group|customer``, ``WHERE`` conditions joined by AND (=, !=, <, >, <=, >=,
IN, NOT IN, BETWEEN, DURING TODAY/YESTERDAY/LAST_7|14|30_DAYS/THIS_MONTH/LAST_MONTH),
``ORDER BY``, ``LIMIT``; GAQL mistakes answer 400 ``queryError`` in a GoogleAdsFailure
with ``requestId``. 40 campaigns per customer and 5 ad groups each by default; daily
metrics are computed per (entity, day), int64s as JSON strings, camelCase keys.
Writes: ``campaigns:mutate`` (create/update/remove, partialFailure, validateOnly,
10,000 operations) and ``:uploadClickConversions`` (partialFailure required, 2,000
conversions). Headers: bearer token (401 UNAUTHENTICATED when missing, invalid or
expired), ``developer-token`` (missing: DEVELOPER_TOKEN_PARAMETER_MISSING; wrong:
DEVELOPER_TOKEN_INVALID from v19 on, DEVELOPER_TOKEN_NOT_APPROVED on v18),
``login-customer-id`` (digits only). Quota: 15,000 operations per developer token per
UTC day (``quota(box)``), then 429 RESOURCE_EXHAUSTED with ``quotaErrorDetails``; the
429 fault is RESOURCE_TEMPORARILY_EXHAUSTED, the 5xx fault 503 UNAVAILABLE. Unknown
versions or paths get Google's HTML 404. OAuth: ``/o/oauth2/v2/auth`` and ``/token``
(code with PKCE, refresh; ``expires_in`` 3599; refresh token on first offline consent
or ``prompt=consent``). Lead-form webhooks carry ``google_key``.

Not covered: other resources (change_status, ad_group_ad, keyword_view...), other
segments, summary rows, multi-resource ``googleAds:mutate``, manager hierarchies,
conversion actions (any ``customers/{id}/conversionActions/{n}`` is accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.responses import StreamingResponse

from connectors.sandbox.google_ads import data
from connectors.sandbox.google_ads.plan import Plan, build
from connectors.sandbox.google_ads.state import Box
from connectors.sandbox.google_ads.write import (
    AdsError,
    ads_error,
    invalid,
    mutate_campaigns,
    upload_click_conversions,
)
from connectors.sandbox.kit import Dataset, TokenStore
from connectors.sandbox.kit.wire import (
    basic_credentials,
    bearer_token,
    oauth_error,
    same_secret,
)

NAME = "google_ads"
DEMO_TOKEN = "sandbox"
DEVELOPER_TOKEN = "sandbox-developer-token"
DEFAULT_VERSION = "v20"
VERSIONS = range(18, 27)
TOKEN_LIFETIME_S = 3599
SCOPE = "https://www.googleapis.com/auth/adwords"
_NO_CREDENTIAL = ("Request is missing required authentication credential. Expected OAuth 2 "
                  "access token, login cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_BAD_CREDENTIAL = _NO_CREDENTIAL.replace("is missing required", "had invalid")
_HTML_404 = ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not "
             "Found)!!1</title>\n  <p><b>404.</b> <ins>That\u2019s an error.</ins>\n  <p>The "
             "requested URL <code>{path}</code> was not found on this server.  "
             "<ins>That\u2019s all we know.</ins>\n")
_SEARCH_KEYS = {"query", "pageToken", "pageSize", "validateOnly", "returnTotalResultsCount",
                "summaryRowSetting"}


def quota(box: Box) -> dict[str, Any]:
    """Daily operations budget per developer token; tests may lower ``daily_operations``."""
    return box.state.quota


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """Lead-form webhooks are unsigned JSON; the shared secret travels as ``google_key``."""
    body = json.dumps(data.lead_payload(box, payload), separators=(",", ":")).encode()
    return {"Content-Type": "application/json"}, body


def google_key_matches(expected: str, presented: Any) -> bool:
    return same_secret(presented, expected)


def create_router(box: Box) -> APIRouter:
    router = APIRouter()

    def store() -> TokenStore:
        # Google refresh tokens look like ``1//0...``, unlike the ``ya29.`` access tokens.
        return box.tokens(DEMO_TOKEN, lifetime_s=TOKEN_LIFETIME_S, prefix="ya29.",
                          refresh_prefix="1//0", refresh_bytes=48)

    def dataset() -> Dataset:
        return box.dataset(data.DEFAULT_COUNTS, lambda *_: {})

    def charge(developer_token: str, cost: int) -> None:
        book, now = quota(box), datetime.now(UTC)
        if book["day"] != now.date().isoformat():
            book.update(day=now.date().isoformat(), used={})
        used = book["used"].get(developer_token, 0)
        if used + cost > book["daily_operations"]:
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            raise quota_error("RESOURCE_EXHAUSTED", "DEVELOPER",
                              "Number of operations for basic access",
                              int((midnight - now).total_seconds()) + 1)
        book["used"][developer_token] = used + cost

    def quota_error(code: str, scope: str, name: str, seconds: int) -> AdsError:
        details = {"quotaErrorDetails": {"rateScope": scope, "rateName": name,
                                         "retryDelay": f"{seconds}s"}}
        return AdsError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check "
                        "quota).", [ads_error("quotaError", code, f"Too many requests. Retry in "
                                              f"{seconds} seconds.", details=details)])

    def check_headers(request: Request, version: str, customer: str | None) -> str:
        status = store().check(bearer_token(request))
        if status == "missing":
            raise AdsError(401, "UNAUTHENTICATED", _NO_CREDENTIAL)
        if status != "ok":
            expired = [ads_error("authenticationError", "OAUTH_TOKEN_EXPIRED",
                                 "OAuth token in the header has expired.")]
            raise AdsError(401, "UNAUTHENTICATED", _BAD_CREDENTIAL,
                           expired if status == "expired" else None, headers={
                               "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/",'
                                                   ' error="invalid_token"'})
        developer = request.headers.get("developer-token")
        if not developer:
            raise invalid([ads_error("requestError", "DEVELOPER_TOKEN_PARAMETER_MISSING",
                                     "developer-token parameter is missing.")])
        if not same_secret(developer, DEVELOPER_TOKEN):
            if int(version[1:]) < 19:
                raise AdsError(403, "PERMISSION_DENIED", "The caller does not have permission",
                               [ads_error("authorizationError", "DEVELOPER_TOKEN_NOT_APPROVED",
                                          "The developer token is not approved. Non-approved "
                                          "developer tokens can only be used with test "
                                          "accounts.")])
            raise AdsError(401, "UNAUTHENTICATED", "The developer token is not valid.",
                           [ads_error("authenticationError", "DEVELOPER_TOKEN_INVALID",
                                      "The developer token is not valid.")])
        login = request.headers.get("login-customer-id")
        if login is not None and not re.fullmatch(r"\d{10}", login):
            raise invalid([ads_error("headerError", "INVALID_LOGIN_CUSTOMER_ID",
                                     "The login customer ID could not be validated.")])
        for account in (login, customer):
            if account is not None and not re.fullmatch(r"\d+", account):
                raise invalid([ads_error("requestError", "INVALID_CUSTOMER_ID",
                                         f"Invalid customer ID '{account}'.")])
            if account is not None and account not in data.CUSTOMERS:
                raise AdsError(403, "PERMISSION_DENIED", "The caller does not have permission",
                               [ads_error("authorizationError", "USER_PERMISSION_DENIED",
                                          "User doesn't have permission to access customer. "
                                          "Note: If you're accessing a client customer, the "
                                          "manager's customer id must be set in the "
                                          "'login-customer-id' header.")])
        return developer

    def page_token(customer: str, text: str, offset: int) -> str:
        raw = json.dumps({"q": hashlib.sha256(f"{customer}|{text}".encode()).hexdigest()[:20],
                          "o": offset}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read_token(customer: str, text: str, token: str, total: int) -> int:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            offset = int(decoded["o"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            offset = -1
        if offset < 0 or offset > total or token != page_token(customer, text, offset):
            raise invalid([ads_error("requestError", "INVALID_PAGE_TOKEN",
                                     "Next page token specified in user request is invalid.")])
        return offset

    def plan_for(customer: str, body: dict[str, Any], keys: set[str]) -> Plan:
        for name in body:
            if name not in keys:
                text = f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
                raise AdsError(400, "INVALID_ARGUMENT", text, raw_details=[{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"description": text}]}])
        if "pageSize" in body:
            raise invalid([ads_error("requestError", "PAGE_SIZE_NOT_SUPPORTED", "Setting the "
                                     "page size is not supported. Search Responses will have "
                                     "fixed page size of '10000' rows.")])
        if body.get("summaryRowSetting") not in (None, "NO_SUMMARY_ROW"):
            raise invalid([ads_error("fieldError", "INVALID_VALUE", "summaryRowSetting other "
                                     "than NO_SUMMARY_ROW is not simulated by the sandbox.")])
        if not str(body.get("query") or "").strip():
            raise invalid([ads_error("requestError", "REQUIRED_FIELD_MISSING",
                                     "Required field was not specified.", [("query", None)])])
        try:
            query = data.parse(body["query"], datetime.now(UTC).date())
            ds = dataset()
            if box.count_data_call():
                first = dict(data.campaign_at(ds, customer, 0))
                first["name"] += " (edited)"
                ds.put(f"campaigns:{customer}", str(first["id"]), first)
            return build(query, ds, customer, box.seed, datetime.now(UTC).date())
        except data.GaqlError as failed:
            raise invalid([ads_error("queryError", failed.code, failed.message)]) from None

    def search(customer: str, body: dict[str, Any]) -> dict[str, Any]:
        plan = plan_for(customer, body, _SEARCH_KEYS)
        if body.get("validateOnly"):
            return {"fieldMask": plan.field_mask}
        text = str(body["query"])
        start = read_token(customer, text, body["pageToken"], plan.total) if body.get(
            "pageToken") else 0
        end = min(start + data.PAGE_SIZE, plan.total)
        answer: dict[str, Any] = {}
        if end > start:
            answer["results"] = [plan.row(r) for r in range(start, end)]
        if end < plan.total:
            answer["nextPageToken"] = page_token(customer, text, end)
        if body.get("returnTotalResultsCount"):
            answer["totalResultsCount"] = str(plan.total)
        answer["fieldMask"] = plan.field_mask
        answer["queryResourceConsumption"] = str(max(1, (end - start) // 100))
        return answer

    def stream(plan: Plan, request_id: str) -> Iterator[bytes]:
        yield b"["
        start = 0
        while True:
            end = min(start + data.PAGE_SIZE, plan.total)
            batch: dict[str, Any] = {"fieldMask": plan.field_mask, "requestId": request_id}
            if end > start:
                batch = {"results": [plan.row(r) for r in range(start, end)], **batch}
            if end >= plan.total:
                batch["queryResourceConsumption"] = str(max(1, plan.total // 100))
            yield (b"," if start else b"") + json.dumps(batch, separators=(",", ":")).encode()
            if end >= plan.total:
                break
            start = end
        yield b"]"

    async def handle(request: Request, version: str, kind: str, customer: str | None,
                     request_id: str, seen: dict[str, Any]) -> Response:
        fault = await box.before_call()
        if fault == "429":
            raise quota_error("RESOURCE_TEMPORARILY_EXHAUSTED", "ACCOUNT", "Requests per account",
                              box.faults.retry_after_s)
        if fault == "5xx":
            raise AdsError(503, "UNAVAILABLE", "The service is currently unavailable.")
        developer = check_headers(request, version, customer)
        body: dict[str, Any] = {}
        if request.method == "POST":
            try:
                parsed = json.loads(await request.body() or b"{}")
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                text = "Invalid JSON payload received. Expected an object."
                raise AdsError(400, "INVALID_ARGUMENT", text, raw_details=[{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"description": text}]}])
            body = parsed
        seen["body"] = body
        ops = body.get("operations")
        charge(developer, len(ops) if kind == "mutate" and isinstance(ops, list) else 1)
        if kind == "customers":
            return JSONResponse({"resourceNames": [f"customers/{c}" for c in data.CUSTOMERS]})
        assert customer is not None
        if kind == "search":
            return JSONResponse(search(customer, body))
        if kind == "searchStream":
            plan = plan_for(customer, body, {"query", "summaryRowSetting"})
            return StreamingResponse(stream(plan, request_id), media_type="application/json")
        if kind == "mutate":
            return JSONResponse(mutate_campaigns(dataset(), customer, body, box.state, version,
                                                 request_id))
        return JSONResponse(upload_click_conversions(dataset(), customer, body, version,
                                                     request_id))

    @router.get("/o/oauth2/v2/auth")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        box.log(request)
        if q.get("client_id") != box.client_id:
            return HTMLResponse("<h1>Error 401: invalid_client</h1><p>The OAuth client was not "
                                "found.</p>", 401)
        if not q.get("redirect_uri") or q.get("response_type") != "code":
            return HTMLResponse("<h1>Error 400: invalid_request</h1>", 400)
        challenge = q.get("code_challenge")
        code = store().issue_code(box.client_id, q["redirect_uri"], q.get("scope", SCOPE),
                                  challenge, q.get("code_challenge_method", "plain")
                                  if challenge else None)
        consented = box.state.consented
        offline = q.get("access_type") == "offline" and (
            box.client_id not in consented or q.get("prompt") == "consent")
        consented.add(box.client_id)
        box.state.offline_codes[code] = offline
        query = urlencode({"state": q.get("state", ""), "code": code, "scope": q.get("scope", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", 302)

    @router.post("/token")
    async def token(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        box.log(request, query={}, grant_type=form.get("grant_type"))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        try:
            client_id, secret = basic_credentials(request) or (client_id, secret)
        except ValueError:
            return oauth_error("invalid_client", "Unauthorized", 401)
        if client_id != box.client_id or not same_secret(secret, box.client_secret):
            return oauth_error("invalid_client", "Unauthorized", 401)
        tokens, grant = store(), form.get("grant_type")
        if grant == "refresh_token":
            issued = tokens.redeem_refresh(form.get("refresh_token", ""),
                                           calls=box.new_token_calls())
            if issued is None:
                return oauth_error("invalid_grant", "Token has been expired or revoked.")
            return JSONResponse({"access_token": issued.access_token, "expires_in": 3599,
                                 "scope": issued.scope, "token_type": "Bearer"})
        if grant != "authorization_code":
            return oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")
        code = form.get("code", "")
        pending = tokens.pending_code(code)
        if pending and pending.code_challenge and not form.get("code_verifier"):
            return oauth_error("invalid_grant", "Missing code verifier.")
        offline = box.state.offline_codes.pop(code, False)
        found = tokens.redeem_code(code, box.client_id, form.get("redirect_uri"),
                                   form.get("code_verifier"))
        if found is None:
            return oauth_error("invalid_grant", "Bad Request")
        issued = tokens.issue(found.scope, with_refresh=offline, calls=box.new_token_calls())
        answer = {"access_token": issued.access_token, "expires_in": 3599, "scope": found.scope,
                  "token_type": "Bearer"}
        if issued.refresh_token:
            answer["refresh_token"] = issued.refresh_token
        return JSONResponse(answer)

    @router.api_route("/{version}/{rest:path}", methods=["GET", "POST"])
    async def api(version: str, rest: str, request: Request) -> Response:
        known = re.fullmatch(r"v(\d+)", version) and int(version[1:]) in VERSIONS
        found = re.fullmatch(r"customers/(\d[^/:]*)/(googleAds:search|googleAds:searchStream|"
                             r"campaigns:mutate)|customers/([^/:]+):uploadClickConversions|"
                             r"(customers:listAccessibleCustomers)", rest)
        expected = "GET" if found and found[4] else "POST"
        if not known or not found or request.method != expected:
            return HTMLResponse(_HTML_404.format(path=request.url.path), 404)
        kind = {"googleAds:search": "search", "googleAds:searchStream": "searchStream",
                "campaigns:mutate": "mutate"}.get(found[2] or "", "upload")
        kind = "customers" if found[4] else kind
        request_id = secrets.token_urlsafe(16)
        seen = box.log(request, kind=kind)
        try:
            response = await handle(request, version, kind, found[1] or found[3], request_id,
                                    seen)
        except AdsError as failed:
            response = JSONResponse(failed.body(version, request_id), failed.http,
                                    failed.headers)
        response.headers["request-id"] = request_id
        return response

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def elsewhere(rest: str, request: Request) -> Response:
        box.log(request)
        return HTMLResponse(_HTML_404.format(path=request.url.path), 404)

    return router
