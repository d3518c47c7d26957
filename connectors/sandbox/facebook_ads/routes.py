"""Facebook Ads simulator: Graph/Marketing API reads, campaign writes, batch, OAuth, webhooks.

Covers, under ``/facebook_ads`` (``/v19.0`` .. ``/v26.0``, default ``v21.0``;
unversioned paths act as v19.0): ``/me``, ``/me/adaccounts`` (two accounts),
``/act_{id}``, ``/act_{id}/campaigns`` and ``/act_{id}/adsets`` (``fields``, ``limit``
default 25 capped at 5,000, ``after``/``before`` cursors, ``paging.next``/``previous``
as full sandbox URLs, ``effective_status`` and ``filtering`` on effective_status or
``updated_time``; DELETED objects only when asked for), ``/act_{id}/insights`` and
``/{campaign_id}/insights`` (level, fields, time_range, date_preset, time_increment
all_days or 1..90, paging; numbers as strings), campaign and ad set nodes. Writes:
``POST /act_{id}/campaigns`` (name, objective, special_ad_categories required),
``POST /{campaign_id}``, ``DELETE /{campaign_id}`` and the Graph batch ``POST /`` with
``batch`` (at most 50 requests, each counted). Tokens come as ``access_token`` or a
bearer header; ``appsecret_proof`` is checked when sent and required when
``box.state.require_proof`` is set. Errors use ``{"error": {message, type, code,
error_subcode?, is_transient?, fbtrace_id}}``: missing token 104 (2500 on /me), bad
token 190, expired 190/463, permissions 200. Every call is counted per token for
``X-App-Usage`` and per ad account and use case for ``X-Business-Use-Case-Usage``
(rolling hour, ``limits(box)``); over a limit the answer is HTTP 400 with code 80004
(ads_management) or 80000 (ads_insights), never 429. The 429 fault answers code 17,
the 5xx fault HTTP 500 code 2. OAuth: ``/{v}/dialog/oauth`` (auto consent, PKCE),
``/{v}/oauth/access_token`` (code -> 5,400 s token; ``fb_exchange_token`` -> 5,183,944
s; no refresh tokens), ``/debug_token``. Webhooks: ``X-Hub-Signature-256`` deliveries
and the ``hub.challenge`` verification handshake.

Not covered: ads and creatives edges, breakdowns, async insight jobs, monthly time
increments, insights ``filtering``, page/lead webhooks' field catalogue, per-field
permissions beyond ads_read/ads_management.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from connectors.sandbox.facebook_ads import data, graph
from connectors.sandbox.facebook_ads.graph import Call, GraphError
from connectors.sandbox.facebook_ads.state import Box
from connectors.sandbox.kit import Dataset, TokenStore
from connectors.sandbox.kit.wire import bearer_token, same_secret

NAME = "facebook_ads"
DEMO_TOKEN = "sandbox"
DEFAULT_VERSION = "v21.0"
VERSIONS = range(19, 27)
SHORT_LIVED_S = 5400
LONG_LIVED_S = 5_183_944
MAX_BATCH = 50
ALL_SCOPES = ("ads_read", "ads_management", "business_management", "read_insights")
limits = graph.limits  # the rate-limit knobs live with the accounting; exposed here for tests
def appsecret_proof(app_secret: str, access_token: str) -> str:
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def sign(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body, app secret as key."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def notification(payload: Any) -> dict[str, Any]:
    """A Graph webhook notification; a bare payload becomes one ad_account change value."""
    if isinstance(payload, dict) and "object" in payload and "entry" in payload:
        return payload
    value = dict(payload) if isinstance(payload, dict) else {"value": payload}
    field = value.pop("field", "in_process_ad_objects")
    return {"object": "ad_account", "entry": [
        {"id": data.ACCOUNTS[0], "time": int(time.time()),
         "changes": [{"field": field, "value": value}]}]}


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    body = json.dumps(notification(payload), separators=(",", ":")).encode()
    legacy = hmac.new(box.client_secret.encode(), body, hashlib.sha1).hexdigest()
    return {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
            "X-Hub-Signature": f"sha1={legacy}",
            "X-Hub-Signature-256": sign(box.client_secret, body)}, body


def handshake_params(verify_token: str, challenge: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}


async def verify_callback(url: str, verify_token: str) -> tuple[bool, int]:
    """Meta's subscription check: GET with hub.* params; the body must echo the challenge."""
    challenge = str(secrets.randbelow(10**10))
    async with httpx.AsyncClient(timeout=5.0) as client:
        answer = await client.get(url, params=handshake_params(verify_token, challenge))
    return answer.status_code == 200 and answer.text.strip() == challenge, answer.status_code


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def create_router(box: Box) -> APIRouter:
    router = APIRouter()

    def store() -> TokenStore:
        return box.tokens(DEMO_TOKEN, lifetime_s=None, prefix="EAAB")

    def dataset() -> Dataset:
        return box.dataset(data.DEFAULT_COUNTS, lambda *_: {}, step_s=data.STEP_S)

    def scopes_of(token: str) -> list[str]:
        issued = store().peek(token)
        return list(ALL_SCOPES) if issued is None else [s for s in issued.scope.split(",") if s]

    def authenticate(call: Call, about_me: bool) -> list[str]:
        status = store().check(call.token)
        if status == "missing":
            raise GraphError("An active access token must be used to query information about "
                             "the current user." if about_me else "An access token is required "
                             "to request this resource.", 2500 if about_me else 104)
        if status != "ok":
            message = ("Invalid OAuth access token - Cannot parse access token" if status ==
                       "invalid" else f"Error validating access token: Session has expired on "
                       f"{_stamp(time.time() - 1)}. The current time is {_stamp(time.time())}.")
            raise GraphError(message, 190, subcode=463 if status == "expired" else None,
                             headers={"WWW-Authenticate": f'OAuth "Facebook Platform" '
                                                          f'"invalid_token" "{message}"'})
        proof = call.params.get("appsecret_proof")
        if proof is None and box.state.require_proof:
            raise GraphError("API calls from the server require an appsecret_proof argument", 100,
                             kind="GraphMethodException")
        if proof is not None and not same_secret(
                proof, appsecret_proof(box.client_secret, str(call.token))):
            raise GraphError("Invalid appsecret_proof provided in the API argument", 100,
                             kind="GraphMethodException")
        return scopes_of(str(call.token))

    def resolve(call: Call) -> tuple[str, int, dict[str, Any] | None]:
        """(route, ad account index, campaign or ad set record) for a Graph path."""
        ds, parts, method = dataset(), call.parts, call.method
        if parts in (["me"], ["me", "adaccounts"]) and method == "GET":
            return "/".join(parts), -1, None
        head, rest = (parts[0] if parts else ""), parts[1:]
        if head.startswith("act_"):
            if head[4:] not in data.ACCOUNTS:
                raise graph.unsupported(method, head)
            routes = {("GET", ""): "account", ("GET", "campaigns"): "campaigns",
                      ("POST", "campaigns"): "create", ("GET", "adsets"): "adsets",
                      ("GET", "insights"): "insights"}
            route = routes.get((method, "/".join(rest)))
            if route is None and rest:
                raise GraphError(f"Unknown path components: /{'/'.join(rest)}", 2500)
            if route is None:
                raise graph.unsupported(method, head)
            return route, data.ACCOUNTS.index(head[4:]), None
        found = data.decode(ds, head)
        if found is None:
            raise graph.unsupported(method, head)
        kind, a, i, j = found
        if kind == "campaign":
            record = ds.overlay.get(f"campaigns:{data.ACCOUNTS[a]}", {}).get(head) or (
                data.gen_campaign(ds, a, i) if i < ds.count("campaigns") else None)
            route = {("GET", ""): "campaign", ("POST", ""): "update", ("DELETE", ""): "delete",
                     ("GET", "insights"): "campaign_insights"}.get((method, "/".join(rest)))
            if record is not None and route is not None:
                return route, a, record
        elif kind == "adset" and method == "GET" and not rest:
            return "adset", a, data.gen_adset(ds, a, i, j)
        raise graph.unsupported(method, head)

    def dispatch(call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Credential, proof, limits and the handler for one call (already past faults)."""
        headers: dict[str, str] = {}
        try:
            if call.parts == ["debug_token"]:
                return 200, debug_token(call), headers
            scopes = authenticate(call, call.parts[:1] == ["me"])
            route, a, record = resolve(call)
            kind = "ads_insights" if route.endswith("insights") else "ads_management"
            headers = graph.usage(box, str(call.token), kind, data.ACCOUNTS[a] if a >= 0 else None)
            writes = route in ("create", "update", "delete")
            if a >= 0 and not set(scopes) & ({"ads_management"} if writes else
                                             {"ads_read", "ads_management"}):
                raise GraphError("(#200) Ad account owner has NOT grant ads_management or "
                                 "ads_read permission", 200, status=403)
            return 200, handle(call, route, a, record), headers
        except GraphError as failed:
            return failed.status, failed.body(), {**headers, **failed.headers}

    def handle(call: Call, route: str, a: int, record: dict[str, Any] | None) -> dict[str, Any]:
        ds = dataset()
        if route in ("campaigns", "insights", "campaign_insights") and box.count_data_call():
            graph.update_campaign(ds, 0, data.campaign_at(ds, 0, 0),
                                  {"name": data.campaign_at(ds, 0, 0)["name"] + " (edited)"})
        if route == "me":
            return graph.pick({"id": data.USER_ID, "name": data.USER_NAME},
                              graph.fields_of(call, {"id", "name"}, "User", ["name"]))
        if route == "me/adaccounts":
            fields = graph.fields_of(call, data.ACCOUNT_FIELDS, "AdAccount", ["account_id"])
            return graph.paged(call, 0, len(data.ACCOUNTS), data.account_record,
                               lambda r: graph.pick(r, fields))
        if route == "account":
            fields = graph.fields_of(call, data.ACCOUNT_FIELDS, "AdAccount", ["id"])
            return graph.pick(data.account_record(a), fields)
        if route in ("campaigns", "adsets"):
            lister = graph.list_campaigns if route == "campaigns" else graph.list_adsets
            return lister(call, ds, a)
        if route in ("insights", "campaign_insights"):
            return graph.insights(call, ds, box.seed, a, record)
        if route == "create":
            return graph.create_campaign(ds, box.state, a, call)
        if route in ("update", "delete"):
            assert record is not None
            params = {"status": "DELETED"} if route == "delete" else call.params
            graph.update_campaign(ds, a, record, params)
            return {"success": True}
        allowed = data.CAMPAIGN_FIELDS if route == "campaign" else data.ADSET_FIELDS
        node = "Campaign" if route == "campaign" else "AdSet"
        return graph.pick(record or {}, graph.fields_of(call, allowed, node, ["id"]))

    def debug_token(call: Call) -> dict[str, Any]:
        if call.token != f"{box.client_id}|{box.client_secret}":
            authenticate(call, False)
        subject = str(call.params.get("input_token") or "")
        # Introspection reads the subject token without spending one of its calls.
        issued, now = store().peek(subject), time.time()
        base = {"app_id": box.client_id, "application": "Connectus Sandbox",
                "user_id": data.USER_ID}
        if subject == DEMO_TOKEN:
            return {"data": {**base, "type": "SYSTEM_USER", "expires_at": 0, "is_valid": True,
                             "data_access_expires_at": 0, "scopes": list(ALL_SCOPES)}}
        if issued is None:
            return {"data": {"error": {"code": 190, "message": "Invalid OAuth access token - "
                                       "Cannot parse access token"}, "is_valid": False,
                             "scopes": []}}
        valid = not issued.expired(now)
        answer = {**base, "type": "USER", "expires_at": int(issued.expires_at or 0),
                  "data_access_expires_at": int(now) + 90 * 86_400, "is_valid": valid,
                  "scopes": scopes_of(subject)}
        if not valid:
            answer["error"] = {"code": 190, "subcode": 463, "message": "Error validating access "
                               "token: Session has expired."}
        return {"data": answer}

    def exchange(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("client_id") != box.client_id:
            raise GraphError("Error validating application. Invalid application ID.", 101)
        if not same_secret(params.get("client_secret"), box.client_secret):
            raise GraphError("Error validating client secret.", 1)
        tokens = store()
        if params.get("grant_type") == "fb_exchange_token":
            source = str(params.get("fb_exchange_token") or "")
            if tokens.check(source) != "ok":
                raise GraphError("Invalid OAuth access token.", 190)
            scope, lifetime = ",".join(scopes_of(source)), LONG_LIVED_S
        else:
            code = str(params.get("code") or "")
            pending = tokens.pending_code(code)
            if pending and params.get("redirect_uri") != pending.redirect_uri:
                raise GraphError("Error validating verification code. Please make sure your "
                                 "redirect_uri is identical to the one you used in the OAuth "
                                 "dialog request", 100, subcode=36008)
            found = tokens.redeem_code(code, box.client_id, None, params.get("code_verifier"))
            if found is None:
                raise GraphError("Invalid verification code format.", 100)
            scope, lifetime = found.scope, SHORT_LIVED_S
        issued = tokens.issue(scope, with_refresh=False, calls=box.new_token_calls(),
                              lifetime_s=lifetime)
        return {"access_token": issued.access_token, "token_type": "bearer",
                "expires_in": lifetime}

    @router.post("/_sandbox/webhooks/verify")
    async def verify(request: Request) -> Response:
        body = await request.json()
        verified, status = await verify_callback(body["url"], str(body.get("verify_token", "")))
        return JSONResponse({"verified": verified, "status_code": status})

    @router.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
    async def entry(path: str, request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        if request.method != "GET":
            if request.headers.get("content-type", "").startswith("application/json"):
                try:
                    loaded = json.loads(await request.body() or b"{}")
                except json.JSONDecodeError:
                    failed = graph.param_error("The request body is not valid JSON")
                    return JSONResponse(failed.body(), failed.status)
                params.update(loaded if isinstance(loaded, dict) else {})
            else:
                params.update({k: v for k, v in (await request.form()).items()
                               if isinstance(v, str)})
        token = params.pop("access_token", None) or bearer_token(request)
        parts = [p for p in path.split("/") if p]
        version = parts.pop(0) if parts and re.fullmatch(r"v\d+\.\d+", parts[0]) else "v19.0"
        box.log(request, params=params)
        if parts == ["dialog", "oauth"]:
            return dialog(request)
        number = int(version[1:].split(".")[0])
        if number not in VERSIONS:
            failed = GraphError(f"(#2635) You are calling a deprecated version of the Ads API. "
                                f"Please update to the latest version: {DEFAULT_VERSION}.", 2635
                                ) if number < VERSIONS.start else GraphError(
                f"Unknown path components: /{version}", 2500)
            return JSONResponse(failed.body(), failed.status)
        fault = await box.before_call()
        if fault in ("429", "5xx"):
            failed = GraphError("(#17) User request limit reached", 17, subcode=2446079,
                                transient=True) if fault == "429" else GraphError(
                "An unexpected error has occurred. Please retry your request later.", 2,
                status=500, transient=True)
            return JSONResponse(failed.body(), failed.status)
        if parts == ["oauth", "access_token"]:
            try:
                return JSONResponse(exchange(params))
            except GraphError as failed:
                return JSONResponse(failed.body(), failed.status)
        full = str(request.url.replace(query=""))
        base = full[: len(full) - len(path)].rstrip("/")
        call = Call(request.method, version, parts, params, token, base)
        if not parts and request.method == "POST" and "batch" in params:
            return batch(call)
        status, body, headers = dispatch(call)
        return JSONResponse(body, status, headers)

    def dialog(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != box.client_id:
            return HTMLResponse("<h1>Invalid App ID</h1>", 400)
        if not q.get("redirect_uri"):
            return HTMLResponse("<h1>Missing redirect_uri</h1>", 400)
        challenge = q.get("code_challenge")
        code = store().issue_code(box.client_id, q["redirect_uri"], q.get("scope", "ads_read"),
                                  challenge, q.get("code_challenge_method") if challenge else None)
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}#_=_", 302)

    def batch(call: Call) -> Response:
        try:
            entries = json.loads(call.params["batch"]) if isinstance(
                call.params["batch"], str) else call.params["batch"]
        except json.JSONDecodeError:
            entries = None
        if not isinstance(entries, list):
            failed = graph.param_error("Param batch must be a JSON array")
        elif len(entries) > MAX_BATCH:
            failed = graph.param_error(f"Too many requests in batch message. Maximum batch size "
                                       f"is {MAX_BATCH}")
        else:
            results = []
            for item in entries:
                item = item if isinstance(item, dict) else {}
                link = urlparse(str(item.get("relative_url") or "").lstrip("/"))
                sub = {**dict(parse_qsl(link.query)), **dict(parse_qsl(str(item.get("body", ""))))}
                parts = [p for p in link.path.split("/") if p]
                version = parts.pop(0) if parts and re.fullmatch(r"v\d+\.\d+", parts[0]) else (
                    call.version)
                token = sub.pop("access_token", None) or call.token
                status, body, headers = dispatch(Call(str(item.get("method", "GET")).upper(),
                                                      version, parts, sub, token, call.base))
                results.append({"code": status, "headers": [
                    {"name": k, "value": v} for k, v in
                    {"Content-Type": "text/javascript; charset=UTF-8", **headers}.items()],
                    "body": json.dumps(body)})
            return JSONResponse(results)
        return JSONResponse(failed.body(), failed.status)

    return router
