"""Zapier simulator: Catch Hooks, REST-hook target URLs and the Workflow API's zap list.

Covers, under ``/zapier``:

* ``hooks.zapier.com`` Catch Hooks: ``GET|POST|PUT /hooks/catch/{user_id}/{hook_id}/``
  and ``.../silent/`` (also the legacy ``/hooks/catch/{hook_id}/``). Bodies may be a
  JSON object, a JSON array (a batch: one run per item), form-encoded or raw text;
  query-string parameters become fields of every run. Answers 200 with
  ``{"attempt", "id", "request_id", "status": "success"}`` (the field set seen in a
  captured real response; ``attempt`` equals ``request_id``), an empty 200 in silent
  mode, and 429 past ~30 requests per second per hook, 20,000 per 5 minutes per user
  or 1,000 per 5 minutes per legacy hook. Zapier documents no Retry-After and no
  error body for hooks, so none is modelled beyond a short JSON message.
* REST-hook target URLs ``POST /hooks/standard/{subscription_id}/``: 200 while the
  subscription is live, 410 Gone once the Zap is off (``DELETE`` on the target URL
  turns it off, as Zapier documents; ``POST /zapier/_sandbox/rest-hooks`` with
  ``{"subscription_id", "active"}`` flips it). Throttled at 30/s per hook and
  10,000 per 5 minutes across REST hooks.
* Workflow API on ``api.zapier.com``: ``GET /v2/zaps`` (bearer, ``limit`` default 10,
  max 100 as v1 documents, ``offset``; ``{data, meta: {count, limit, offset}, links:
  {next, prev}}``), ``GET /v1/profiles/me`` as the cheap "who am I", errors in the
  ``{"errors": [{status, code, title, detail, source, meta}]}`` envelope, 60
  requests per minute per token then a 60 s cooldown (429 with Retry-After and
  ``X-RateLimit-*``). OAuth: ``/v2/authorize`` (and ``/oauth/authorize/``) auto-consents,
  ``POST /oauth/token/`` does auth code (PKCE), refresh and client credentials.
  Expired tokens answer 401 with an RFC 6750 ``WWW-Authenticate: Bearer
  error="invalid_token"`` challenge.

Webhooks *to* Connectus: Zapier cannot sign requests ("Webhooks by Zapier" only
sends static headers), so ``webhook_delivery`` posts the JSON payload with the
static header ``X-Connectus-Webhook-Secret: <box.webhook_secret>``, the custom
header Connectus asks users to configure in their POST action.

Not covered: XML bodies (kept raw), ``X-Recurse-Parse``, Catch Raw Hook's header
capture semantics, zap creation and the rest of the Workflow API, scopes, and
the access-token lifetime (36,000 s is django-oauth-toolkit's default, unconfirmed).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.kit import TokenStore
from connectors.sandbox.kit.wire import bearer_token, iso, redirect_to, same_secret
from connectors.sandbox.zapier.data import DEFAULT_LIMITS, Windows, make_zap, parse_body, runs_of
from connectors.sandbox.zapier.state import Box

NAME = "zapier"
DEMO_TOKEN = "sandbox"
TOKEN_LIFETIME_S = 36_000
DEFAULT_COUNTS = {"zaps": 120}
MAX_LIMIT = 100


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """What a "Webhooks by Zapier" POST action configured for Connectus sends: JSON plus
    the static shared-secret header (Zapier has no signing of its own)."""
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "User-Agent": "Zapier", "X-Connectus-Webhook-Secret": box.webhook_secret}
    return headers, json.dumps(payload).encode()


def api_error(status: int, code: str, title: str, detail: str, *,
              parameter: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """The Workflow API's JSON:API-style error envelope."""
    error = {"status": status, "code": code, "title": title, "detail": detail,
             "source": {"parameter": parameter} if parameter else None,
             "meta": {"source": "ZAPIER", "full_details": {"message": detail, "code": code}}}
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


def _hook_error(status: int, message: str) -> JSONResponse:
    # hooks.zapier.com documents no error body; a short JSON message is this sandbox's choice.
    return JSONResponse({"status": "error", "message": message}, status_code=status)


def create_router(box: Box) -> APIRouter:
    router = APIRouter()
    windows = Windows(box)

    def store() -> TokenStore:
        return box.tokens(DEMO_TOKEN, lifetime_s=TOKEN_LIFETIME_S)

    def note(request: Request) -> None:
        box.log(request)

    async def receive(request: Request, hook: str, checks: list[tuple[str, float, int]],
                      seen: list[dict[str, Any]], silent: bool) -> Response:
        note(request)
        fault = await box.before_call()
        if fault == "429":
            return _hook_error(429, "Too many requests to this webhook; retry with backoff.")
        if fault == "5xx":
            return _hook_error(503, "Zapier is temporarily unavailable; retry with backoff.")
        full = windows.admit(checks)
        if full:
            return _hook_error(429, f"Throttled: the {full.split(':')[0]} limit was exceeded.")
        raw = await request.body()
        query = dict(request.query_params)
        body = parse_body(request.headers.get("content-type", ""), raw)
        request_id = str(uuid.uuid4())
        runs = runs_of(body, query)
        seen.append(
            {"hook": hook, "request_id": request_id, "method": request.method,
             "headers": dict(request.headers), "query": query, "raw": raw.decode(errors="replace"),
             "body": body, "runs": runs, "silent": silent, "received_at": time.time()})
        box.state.runs.extend(
            {"hook": hook, "request_id": request_id, "data": run} for run in runs)
        if silent:
            return Response(status_code=200)
        return JSONResponse({"attempt": request_id, "id": str(uuid.uuid4()),
                             "request_id": request_id, "status": "success"})

    async def catch(request: Request, user_id: str | None, hook_id: str, silent: bool) -> Response:
        lim = windows.limits()
        if user_id is None:
            checks = [(f"legacy-hook:{hook_id}", 300.0, lim["legacy_hook_per_5min"]),
                      (f"per-hook:{hook_id}", 1.0, lim["hook_per_second"])]
        else:
            checks = [(f"per-hook:{user_id}/{hook_id}", 1.0, lim["hook_per_second"]),
                      (f"per-user:{user_id}", 300.0, lim["user_per_5min"])]
        hook = hook_id if user_id is None else f"{user_id}/{hook_id}"
        return await receive(request, hook, checks, box.state.catches, silent)

    hook_methods = ["GET", "POST", "PUT"]

    @router.api_route("/hooks/catch/{user_id}/{hook_id}/", methods=hook_methods)
    @router.api_route("/hooks/catch/{user_id}/{hook_id}", methods=hook_methods)
    async def catch_hook(request: Request, user_id: str, hook_id: str) -> Response:
        if hook_id == "silent":  # legacy hook without a user id, in silent mode
            return await catch(request, None, user_id, True)
        return await catch(request, user_id, hook_id, False)

    @router.api_route("/hooks/catch/{user_id}/{hook_id}/silent/", methods=hook_methods)
    @router.api_route("/hooks/catch/{user_id}/{hook_id}/silent", methods=hook_methods)
    async def catch_silent(request: Request, user_id: str, hook_id: str) -> Response:
        return await catch(request, user_id, hook_id, True)

    @router.api_route("/hooks/catch/{hook_id}/", methods=hook_methods)
    @router.api_route("/hooks/catch/{hook_id}", methods=hook_methods)
    async def catch_legacy(request: Request, hook_id: str) -> Response:
        return await catch(request, None, hook_id, False)

    def subscription(key: str) -> dict[str, Any]:
        return box.state.subscriptions.setdefault(key, {"active": True})

    @router.api_route("/hooks/standard/{path:path}", methods=["POST", "PUT", "DELETE"])
    async def rest_hook(request: Request, path: str) -> Response:
        key = path.strip("/")
        if request.method == "DELETE":
            note(request)
            subscription(key)["active"] = False
            return JSONResponse({"status": "success"})
        if not subscription(key)["active"]:
            note(request)
            return _hook_error(410, "Gone: this subscription has no active Zap; unsubscribe it.")
        lim = windows.limits()
        checks = [(f"per-hook:{key}", 1.0, lim["hook_per_second"]),
                  ("rest-hooks", 300.0, lim["rest_hooks_per_5min"])]
        return await receive(request, key, checks, box.state.rest_deliveries, False)

    async def api_guard(request: Request) -> Response | None:
        """Workflow API checks in order: fault, bearer token, per-token rate limit."""
        note(request)
        fault = await box.before_call()
        if fault == "429":
            return throttled(box.faults.retry_after_s, windows.limits()["api_per_minute"])
        if fault == "5xx":
            return api_error(500, "error", "APIException", "A server error occurred.")
        token = bearer_token(request)
        state = store().check(token)
        if state == "missing" or token is None:
            return api_error(401, "not_authenticated", "NotAuthenticated",
                             "Authentication credentials were not provided.",
                             headers={"WWW-Authenticate": 'Bearer realm="api"'})
        if state != "ok":
            expired = state == "expired"
            reason = "The access token expired" if expired else "The access token is invalid"
            return api_error(401, "authentication_failed", "AuthenticationFailed", reason + ".",
                             headers={"WWW-Authenticate": f'Bearer realm="api", error='
                                                          f'"invalid_token", error_description='
                                                          f'"{reason}"'})
        cooldowns = box.state.cooldowns
        left = cooldowns.get(token, 0.0) - time.monotonic()
        limit = windows.limits()["api_per_minute"]
        if left > 0:
            return throttled(int(left) + 1, limit)
        if windows.admit([(f"api:{token}", 60.0, limit)]):
            cooldowns[token] = time.monotonic() + 60  # the documented 60 s cooldown
            return throttled(60, limit)
        return None

    def throttled(retry_after: int, limit: int) -> JSONResponse:
        headers = {"Retry-After": str(retry_after), "X-RateLimit-Limit": str(limit),
                   "X-RateLimit-Remaining": "0",
                   "X-RateLimit-Reset": str(int(time.time()) + retry_after)}
        return api_error(429, "throttled", "Throttled", "Request was throttled. Expected "
                         f"available in {retry_after} seconds.", headers=headers)

    def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        try:
            value = default if raw in (None, "") else int(str(raw))
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ValueError(f"{name} must be an integer between {low} and {high} (got {raw!r})")
        return value

    @router.get("/v2/zaps")
    async def list_zaps(request: Request) -> Response:
        failed = await api_guard(request)
        if failed:
            return failed
        try:
            limit = int_param(request, "limit", 10, 1, MAX_LIMIT)
            offset = int_param(request, "offset", 0, 0, 10**9)
        except ValueError as exc:
            name = str(exc).split(" ", 1)[0]
            return api_error(400, "invalid", "ValidationError", str(exc), parameter=name)
        data = box.dataset(DEFAULT_COUNTS, make_zap)
        total = data.count("zaps")
        overlay = data.overlay.get("zaps", {})
        page = [overlay.get(str(i)) or data.generated("zaps", i)
                for i in range(offset, min(total, offset + limit))]
        if box.count_data_call() and total:
            changed = dict(overlay.get("0") or data.generated("zaps", 0))
            changed["updated_at"] = iso(time.time(), ms=False)
            data.put("zaps", "0", changed)

        def link(at: int) -> str:
            return str(request.url.replace_query_params(offset=at, limit=limit))

        return JSONResponse({
            "links": {"next": link(offset + limit) if offset + limit < total else None,
                      "prev": link(max(0, offset - limit)) if offset > 0 else None},
            "meta": {"count": total,
                     "limit": limit if "limit" in request.query_params else None,
                     "offset": offset},
            "data": page})

    @router.get("/v1/profiles/me")
    async def profile(request: Request) -> Response:
        failed = await api_guard(request)
        if failed:
            return failed
        return JSONResponse({"id": 88998899, "first_name": "Sandbox", "last_name": "Owner",
                             "full_name": "Sandbox Owner", "email": "owner@connectus.example",
                             "email_confirmed": True, "timezone": "UTC"})

    @router.get("/v2/authorize")
    @router.get("/oauth/authorize/")
    @router.get("/oauth/authorize")
    async def authorize(request: Request) -> Response:
        note(request)
        q = request.query_params
        if q.get("client_id") != box.client_id or not q.get("redirect_uri") or \
                q.get("response_type", "code") != "code":
            return api_error(400, "parse_error", "ParseError", "Malformed request: unknown "
                             "client_id, missing redirect_uri or response_type is not code.")
        code = store().issue_code(box.client_id, q["redirect_uri"], q.get("scope", ""),
                                  q.get("code_challenge"), q.get("code_challenge_method"))
        params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return redirect_to(q["redirect_uri"], params)

    @router.post("/oauth/token/")
    @router.post("/oauth/token")
    async def token(request: Request) -> Response:
        note(request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        scheme, _, basic = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(basic).decode().partition(":")
            except ValueError:  # undecodable: was an unhandled exception, i.e. an HTTP 500
                client_id = secret = ""
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        grant = form.get("grant_type")
        if client_id != box.client_id or not same_secret(secret, box.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        calls = box.new_token_calls()
        if grant == "authorization_code":
            code = store().redeem_code(form.get("code", ""), client_id, form.get("redirect_uri"),
                                       form.get("code_verifier"))
            issued = store().issue(code.scope, calls=calls) if code else None
        elif grant == "refresh_token":
            issued = store().redeem_refresh(form.get("refresh_token", ""), calls)
        elif grant == "client_credentials":
            issued = store().issue(form.get("scope", ""), with_refresh=False, calls=calls)
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if issued is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        body = {"access_token": issued.access_token, "expires_in": TOKEN_LIFETIME_S,
                "token_type": "Bearer", "scope": issued.scope}
        if issued.refresh_token:
            body["refresh_token"] = issued.refresh_token
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.post("/_sandbox/limits")
    async def set_limits(request: Request) -> dict[str, Any]:
        body = await request.json()
        box.state.limits.update({k: int(v) for k, v in body.items() if k in DEFAULT_LIMITS})
        return {"limits": windows.limits()}

    @router.post("/_sandbox/rest-hooks")
    async def set_rest_hook(request: Request) -> dict[str, Any]:
        body = await request.json()
        sub = subscription(str(body["subscription_id"]).strip("/"))
        sub["active"] = bool(body.get("active", False))
        return {"subscription_id": body["subscription_id"], "active": sub["active"]}

    @router.get("/_sandbox/hooks")
    async def hooks_seen() -> dict[str, Any]:
        return {"catch": box.state.catches, "runs": box.state.runs,
                "rest": box.state.rest_deliveries, "subscriptions": box.state.subscriptions}

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, path: str) -> Response:
        note(request)
        return api_error(404, "not_found", "NotFound", f"Not found: {request.method} /{path}")

    return router
