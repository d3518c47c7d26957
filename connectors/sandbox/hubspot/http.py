"""HubSpot simulator plumbing: error bodies, the per-request guard, rate limits, OAuth.

The guard applies HubSpot's checks in order (injected fault, bearer credential,
rate-limit accounting) and returns either the response to send at once or the
``X-HubSpot-RateLimit-*`` headers for a successful answer. Windows are kept per
token on ``box.state`` (``HubSpotState``) so ``box.reset()`` forgets them.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.hubspot.data import PORTAL_ID, CrmError
from connectors.sandbox.hubspot.state import Box
from connectors.sandbox.kit import TokenStore
from connectors.sandbox.kit.wire import bearer_token, iso, redirect_to, same_secret

DEMO_TOKEN = "sandbox"
TOKEN_LIFETIME_S = 1800
APP_ID = 1357911
DEFAULT_LIMITS = {"ten_secondly": 190, "daily": 1_000_000, "search_per_second": 5}
MAX_BATCH = 100
_AUTH_MISSING = ("Authentication credentials not found. This API supports OAuth 2.0 authentication"
                 " and you can find more details at "
                 "https://developers.hubspot.com/docs/methods/auth/oauth-overview")


def hs_error(status: int, message: str, category: str, *,
             context: dict[str, Any] | None = None, errors: list[dict[str, Any]] | None = None,
             headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """HubSpot's error body: ``{status: "error", message, correlationId, category, ...}``."""
    body: dict[str, Any] = {"status": "error", "message": message,
                            "correlationId": str(uuid.uuid4()), "category": category, **extra}
    if context:
        body["context"] = context
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def crm_error(exc: CrmError, headers: dict[str, str] | None = None) -> JSONResponse:
    return hs_error(exc.status, exc.message, exc.category, context=exc.context, headers=headers)


def rate_limited(policy: str, retry_after_s: int, headers: dict[str, str]) -> JSONResponse:
    label = {"SECONDLY": "secondly", "TEN_SECONDLY_ROLLING": "ten_secondly_rolling"}.get(
        policy, policy.lower())
    group = f"publicapi:private-app-api-calls-{label.replace('_', '-')}:{PORTAL_ID}"
    return hs_error(429, f"You have reached your {label} limit.", "RATE_LIMITS",
                    headers={**headers, "Retry-After": str(retry_after_s)},
                    errorType="RATE_LIMIT", policyName=policy, groupName=group)


def split_names(values: list[str]) -> list[str] | None:
    names = [p.strip() for v in values for p in v.split(",") if p.strip()]
    return names or None


def flag(value: str | None, name: str) -> bool:
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise CrmError(400, f"{name} must be true or false (got {value!r})")


class Guard:
    """Per-request checks in HubSpot's order: fault, credential, rate-limit accounting."""

    def __init__(self, box: Box) -> None:
        self.box = box

    @property
    def store(self) -> TokenStore:
        return self.box.tokens(DEMO_TOKEN, lifetime_s=TOKEN_LIFETIME_S, prefix="CJ")

    def limits(self) -> dict[str, int]:
        return {**DEFAULT_LIMITS, **self.box.state.limits}

    def note(self, request: Request) -> None:
        self.box.log(request)

    async def fault(self) -> JSONResponse | None:
        drawn = await self.box.before_call()
        if drawn == "429":
            limit = str(self.limits()["ten_secondly"])
            return rate_limited("TEN_SECONDLY_ROLLING", self.box.faults.retry_after_s,
                                {"X-HubSpot-RateLimit-Max": limit,
                                 "X-HubSpot-RateLimit-Remaining": "0",
                                 "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
        if drawn == "5xx":
            return hs_error(502, "The upstream service timed out; pause and retry the request.",
                            "INTERNAL_ERROR")
        return None

    def expired(self, token: str) -> JSONResponse:
        issued = self.store.peek(token)
        now = time.time()
        at = issued.expires_at if issued and issued.expires_at and issued.expires_at <= now \
            else now
        return hs_error(401, f"The OAuth token used to make this call expired {int(now - at)} "
                             "second(s) ago.", "EXPIRED_AUTHENTICATION",
                        context={"expire time": [iso(at)]},
                        headers={"X-HubSpot-Auth-Failure": "401 Unauthorized"})

    async def begin(self, request: Request, *, kind: str = "api") -> Response | dict[str, str]:
        """Response to send at once, or the rate-limit headers for a successful answer."""
        self.note(request)
        failed = await self.fault()
        if failed:
            return failed
        token = bearer_token(request)
        state = self.store.check(token)
        if state == "expired" and token:
            return self.expired(token)
        if state != "ok" or not token:
            return hs_error(401, _AUTH_MISSING, "INVALID_AUTHENTICATION",
                            headers={"X-HubSpot-Auth-Failure": "401 Unauthorized"})
        return self.account(token, search=kind == "search")

    def account(self, token: str, *, search: bool) -> Response | dict[str, str]:
        lim, now = self.limits(), time.monotonic()
        burst = self.box.state.burst.setdefault(token, deque())
        while burst and now - burst[0] >= 10:
            burst.popleft()
        day = time.strftime("%Y-%m-%d", time.gmtime())
        daily = self.box.state.daily
        if daily.get(token, ("", 0))[0] != day:
            daily[token] = (day, 0)
        headers = {"X-HubSpot-RateLimit-Max": str(lim["ten_secondly"]),
                   "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
        private_app = self.store.peek(token) is None
        if search:
            recent = self.box.state.search.setdefault(token, deque())
            while recent and now - recent[0] >= 1:
                recent.popleft()
            if len(recent) >= lim["search_per_second"]:
                return rate_limited("SECONDLY", 1, {})
            recent.append(now)
        if len(burst) >= lim["ten_secondly"]:
            headers["X-HubSpot-RateLimit-Remaining"] = "0"
            return rate_limited("TEN_SECONDLY_ROLLING", math.ceil(10 - (now - burst[0])),
                                {} if search else headers)
        if daily[token][1] >= lim["daily"]:
            midnight = 86_400 - int(time.time()) % 86_400
            return rate_limited("DAILY", midnight, {} if search else headers)
        burst.append(now)
        daily[token] = (day, daily[token][1] + 1)
        headers["X-HubSpot-RateLimit-Remaining"] = str(lim["ten_secondly"] - len(burst))
        if private_app:
            # HubSpot omits the daily pair on OAuth-authorised calls.
            headers["X-HubSpot-RateLimit-Daily"] = str(lim["daily"])
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(lim["daily"] - daily[token][1])
        return {} if search else headers


def batch_inputs(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise CrmError(400, "Invalid input JSON: expected an object with an inputs array")
    if len(body["inputs"]) > MAX_BATCH:
        raise CrmError(400, f"inputs: size must be between 0 and {MAX_BATCH} "
                            f"(got {len(body['inputs'])})")
    return [item if isinstance(item, dict) else {} for item in body["inputs"]]


def batch_response(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str,
                   ok_status: int, headers: dict[str, str]) -> JSONResponse:
    """A batch answer: 207 Multi-Status whenever some inputs failed."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": iso(time.time())}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
    return JSONResponse(body, status_code=207 if errors else ok_status, headers=headers)


def item_error(category: str, message: str, context: dict[str, Any],
               errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"status": "error", "category": category, "message": message, "context": context,
            "errors": errors or []}


def oauth_routes(router: APIRouter, box: Box, guard: Guard) -> None:
    """OAuth authorize, token (v1 and v3), token metadata and the rate-limit control."""

    @router.get("/oauth/authorize")
    @router.get("/oauth/{account_id}/authorize")
    async def authorize(request: Request) -> Response:
        guard.note(request)
        q = request.query_params
        if q.get("client_id") != box.client_id or not q.get("redirect_uri"):
            return hs_error(400, "missing or unknown client_id or redirect_uri",
                            "VALIDATION_ERROR")
        code = guard.store.issue_code(box.client_id, q["redirect_uri"], q.get("scope", ""),
                                      q.get("code_challenge"), q.get("code_challenge_method"))
        params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return redirect_to(q["redirect_uri"], params)

    @router.post("/oauth/v1/token")
    @router.post("/oauth/v3/token")
    async def token(request: Request) -> Response:
        guard.note(request)
        failed = await guard.fault()
        if failed:
            return failed
        form = await request.form()
        field = {k: str(v) for k, v in form.items()}

        def bad(status: str, message: str, error: str) -> JSONResponse:
            return JSONResponse({"status": status, "message": message, "error": error,
                                 "correlationId": str(uuid.uuid4())}, status_code=400)

        if field.get("client_id") != box.client_id:
            return bad("BAD_CLIENT_ID", "missing or unknown client id", "invalid_client")
        if not same_secret(field.get("client_secret"), box.client_secret):
            return bad("BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client")
        grant = field.get("grant_type")
        if grant == "authorization_code":
            code = guard.store.redeem_code(field.get("code", ""), box.client_id,
                                           field.get("redirect_uri"), field.get("code_verifier"))
            if code is None:
                return bad("BAD_AUTH_CODE", "missing or invalid auth code", "invalid_grant")
            issued = guard.store.issue(code.scope, calls=box.new_token_calls())
        elif grant == "refresh_token":
            rotated = guard.store.redeem_refresh(field.get("refresh_token", ""),
                                                 box.new_token_calls())
            if rotated is None:
                return bad("BAD_REFRESH_TOKEN", "missing or invalid refresh token",
                           "invalid_grant")
            issued = rotated
        else:
            return bad("BAD_GRANT_TYPE", f"unsupported grant_type: {grant}",
                       "unsupported_grant_type")
        return JSONResponse({"token_type": "bearer", "refresh_token": issued.refresh_token,
                             "access_token": issued.access_token, "expires_in": TOKEN_LIFETIME_S,
                             "hub_id": PORTAL_ID, "scopes": issued.scope.split()})

    @router.get("/oauth/v1/access-tokens/{token}")
    async def token_info(request: Request, token: str) -> Response:
        guard.note(request)
        failed = await guard.fault()
        if failed:
            return failed
        issued = guard.store.peek(token)  # introspection spends none of the token's calls
        if token != DEMO_TOKEN and issued is None:
            return hs_error(404, "Token not found", "OBJECT_NOT_FOUND", context={"token": [token]})
        left = TOKEN_LIFETIME_S
        if issued is not None:
            left = int(issued.expires_at - time.time()) if issued.expires_at else left
            if left <= 0 or issued.expired():
                return guard.expired(token)
        return JSONResponse({"token": token, "user": "sandbox-admin@connectus.example",
                             "hub_domain": "connectus-sandbox.hubspot.com",
                             "scopes": (issued.scope.split() if issued else ["oauth"]) or
                             ["oauth"], "hub_id": PORTAL_ID, "app_id": APP_ID,
                             "expires_in": left, "user_id": 7_654_321, "token_type": "access"})

    @router.post("/_sandbox/limits")
    async def set_limits(request: Request) -> dict[str, Any]:
        body = await request.json()
        box.state.limits.update({k: int(v) for k, v in body.items() if k in DEFAULT_LIMITS})
        return {"limits": guard.limits()}
