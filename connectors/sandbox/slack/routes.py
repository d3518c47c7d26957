"""Slack simulator: Web API methods, OAuth v2 with token rotation, signed Events API deliveries.

Covers, under ``/slack``: ``/api/<method>`` by GET query or POST form/JSON (JSON needs
the bearer header; a form may carry ``token``) for ``auth.test``,
``conversations.list`` (types, exclude_archived, limit 1..1000 default 100, cursor;
private channels only where the bot is a member; filtered pages may run short, as
Slack's do), ``conversations.info``, ``conversations.history`` (oldest, latest,
inclusive, limit, cursor, has_more, newest first), ``users.list``, ``users.info`` and
``chat.postMessage`` (stored so history shows it; channel_not_found, not_in_channel,
is_archived, no_text, msg_too_long, invalid_blocks). Errors are HTTP 200
``{ok:false, error}`` (``missing_scope`` adds ``needed``/``provided``) except rate
limits: HTTP 429 + ``Retry-After`` + ``ratelimited``, per token and method in a
sliding minute (Tier 2: 20 for the two lists, Tier 3: 50 for history and
conversations.info, Tier 4: 100 for users.info) and a token bucket of 1 message/s
per channel with a burst of 5 for chat.postMessage; shrink them via ``limits(box)``.
The 5xx fault answers 503 ``service_unavailable``. OAuth: ``/oauth/v2/authorize``
(auto consent, PKCE) and ``/api/oauth.v2.access`` (code and refresh grants, client
credentials by Basic or params). Token rotation is on unless
``box.state.token_rotation`` is False: tokens live 43,200 s and every refresh
returns a new ``xoxe-1-`` refresh token, revoking the old one. Events API deliveries
are v0-signed ``event_callback`` envelopes or ``url_verification`` challenges.

Threads (``thread_ts``, ``conversations.replies``), DMs (``D06...``, one per user),
``chat.update``, event deliveries with retries and interactivity payloads: see
``threads.py`` and ``events.py``.

Not covered: group DMs, generated thread replies (a generated parent's ``reply_count``
is not backed by reply messages), users.list ``limit_required``, the 2025
1-request/min history tier for non-Marketplace apps, Enterprise Grid, deletes,
ephemeral messages.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections import deque
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from connectors.sandbox.kit import TokenStore
from connectors.sandbox.kit.wire import (
    basic_credentials,
    bearer_token,
    redirect_to,
    same_secret,
)
from connectors.sandbox.slack import data, events, methods
from connectors.sandbox.slack.methods import fail
from connectors.sandbox.slack.state import Box

NAME = "slack"
DEMO_TOKEN = "xoxb-sandbox"
TOKEN_LIFETIME_S = 43_200
ALL_SCOPES = ("channels:read", "groups:read", "im:read", "mpim:read", "channels:history",
              "groups:history", "im:history", "users:read", "users:read.email", "chat:write")
VERIFICATION_TOKEN = "sandbox-verification-token"


def limits(box: Box) -> dict[str, Any]:
    """The rate-limit knobs (``SlackState.limits``), for tests to shrink."""
    return box.state.limits


def event_body(box: Box, payload: Any) -> dict[str, Any]:
    """A url_verification challenge or an event_callback envelope around ``payload``."""
    event = dict(payload) if isinstance(payload, dict) else {
        "type": "message", "channel": data.channel_id(0), "user": data.user_id(0),
        "text": str(payload or "hello from the sandbox"), "ts": f"{time.time():.6f}"}
    if event.get("type") == "url_verification":
        return {"token": VERIFICATION_TOKEN, "type": "url_verification",
                "challenge": event.get("challenge") or secrets.token_urlsafe(36)}
    if event.get("type") == "event_callback":
        return event
    box.state.event_seq += 1
    return events.envelope(event)


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """The headers and raw body Slack's Events API would POST to ``target_url``."""
    body = json.dumps(event_body(box, payload), separators=(",", ":")).encode()
    return events.signed_headers(box, body, "application/json"), body


def _ratelimited(seconds: float) -> JSONResponse:
    return fail("ratelimited", 429, {"Retry-After": str(max(1, math.ceil(seconds)))})


def create_router(box: Box) -> APIRouter:
    router = APIRouter()
    router.include_router(events.create_router(box))  # before the catch-all below

    def store() -> TokenStore:
        # Rotating tokens: each refresh answers with a new xoxe-1- refresh token.
        return box.tokens(DEMO_TOKEN, lifetime_s=TOKEN_LIFETIME_S, prefix="xoxe.xoxb-1-",
                          refresh_prefix="xoxe-1-", refresh_bytes=40, rotate_refresh=True)

    def scopes_of(token: str) -> list[str]:
        issued = store().peek(token)
        if issued is None:
            return list(ALL_SCOPES)
        return [s for s in issued.scope.replace(" ", ",").split(",") if s]

    def throttle(token: str, method: str, channel: str | None) -> float | None:
        """Seconds to wait when over the method's window (or the channel's post bucket)."""
        knobs, now = limits(box), time.monotonic()
        if method == "chat.postMessage":
            buckets = box.state.post_buckets
            level, last = buckets.get((token, channel), (knobs["post_burst"], now))
            level = min(knobs["post_burst"], level + (now - last) * knobs["post_per_s"])
            if level < 1:
                buckets[(token, channel)] = (level, now)
                return (1 - level) / knobs["post_per_s"]
            buckets[(token, channel)] = (level - 1, now)
            return None
        cap = knobs["per_minute"].get(method)
        if cap is None:
            return None
        hits = box.state.hits.setdefault((token, method), deque())
        while hits and hits[0] <= now - knobs["window_s"]:
            hits.popleft()
        if len(hits) >= cap:
            return float(hits[0] + knobs["window_s"] - now if hits else knobs["window_s"])
        hits.append(now)
        return None


    async def read_call(request: Request) -> tuple[dict[str, Any], str | None, str | None]:
        """(params, token, argument error): query plus form or JSON body, token by header/form."""
        params: dict[str, Any] = dict(request.query_params)
        token = bearer_token(request)
        if request.method != "POST":
            return params, token, None
        raw = await request.body()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                return params, token, "invalid_json"
            params.update(body if isinstance(body, dict) else {})
            params.pop("token", None)  # JSON bodies never authenticate; Slack wants the header
        elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
            token = token or params.get("token")
        elif raw:
            return params, token, "missing_post_type" if not kind else "invalid_post_type"
        params.pop("token", None)
        return params, token, None

    async def oauth_access(request: Request, params: dict[str, Any]) -> Response:
        client_id, secret = params.get("client_id"), params.get("client_secret")
        try:
            client_id, secret = basic_credentials(request) or (client_id, secret)
        except ValueError:
            return fail("invalid_client_id")
        if client_id != box.client_id:
            return fail("invalid_client_id")
        if not same_secret(secret, box.client_secret):
            return fail("bad_client_secret")
        tokens, rotation = store(), box.state.token_rotation
        grant = params.get("grant_type") or "authorization_code"
        if grant == "refresh_token":
            old = str(params.get("refresh_token") or "")
            if not rotation:
                return fail("token_rotation_not_enabled")
            issued = tokens.redeem_refresh(old, calls=box.new_token_calls())
            if issued is None:
                return fail("invalid_refresh_token")
        elif grant == "authorization_code":
            code = str(params.get("code") or "")
            pending = tokens.pending_code(code)
            if pending and params.get("redirect_uri") not in (None, pending.redirect_uri):
                return fail("bad_redirect_uri")
            grant_info = tokens.redeem_code(code, box.client_id, None,
                                            params.get("code_verifier"))
            if grant_info is None:
                return fail("invalid_code")
            # Without rotation Slack's tokens never expire and come with no refresh token.
            issued = tokens.issue(grant_info.scope, with_refresh=rotation,
                                  calls=box.new_token_calls(),
                                  lifetime_s=TOKEN_LIFETIME_S if rotation else None)
        else:
            return fail("invalid_grant_type")
        body: dict[str, Any] = {
            "ok": True, "app_id": data.APP_ID, "authed_user": {"id": data.user_id(0)},
            "scope": issued.scope, "token_type": "bot", "access_token": issued.access_token,
            "bot_user_id": data.BOT_USER_ID, "team": {"id": data.TEAM_ID, "name": data.TEAM_NAME},
            "enterprise": None, "is_enterprise_install": False}
        if rotation:
            body.update(refresh_token=issued.refresh_token, expires_in=TOKEN_LIFETIME_S)
        return JSONResponse(body)

    @router.get("/oauth/v2/authorize")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        box.log(request)
        if q.get("client_id") != box.client_id:
            return HTMLResponse("<h1>Invalid client_id parameter</h1>", 400)
        if not q.get("redirect_uri"):
            return HTMLResponse("<h1>redirect_uri did not match any configured URIs</h1>", 400)
        challenge = q.get("code_challenge")
        code = store().issue_code(box.client_id, q["redirect_uri"], q.get("scope", ""),
                                  challenge, q.get("code_challenge_method") if challenge else None)
        return redirect_to(q["redirect_uri"], {"code": code, "state": q.get("state", "")})

    @router.api_route("/api/{method}", methods=["GET", "POST"])
    async def api(method: str, request: Request) -> Response:
        params, token, bad_args = await read_call(request)
        box.log(request, api_method=method, params=params)
        fault = await box.before_call()
        if fault == "429":
            return _ratelimited(box.faults.retry_after_s)
        if fault == "5xx":
            return fail("service_unavailable", 503)
        if bad_args:
            return fail(bad_args)
        if method == "oauth.v2.access":
            return await oauth_access(request, params)
        handler = methods.METHODS.get(method)
        if handler is None:
            return fail("unknown_method", req_method=method)
        status = store().check(token)
        if status != "ok":
            return fail({"missing": "not_authed", "invalid": "invalid_auth",
                          "expired": "token_expired"}[status])
        assert token is not None
        wait = throttle(token, method, str(params.get("channel") or ""))
        if wait is not None:
            return _ratelimited(wait)
        answer = handler(box, params, scopes_of(token))
        if method == "chat.postMessage" and isinstance(answer, JSONResponse):
            events.echo_bot_post(box, json.loads(bytes(answer.body)))
        return answer

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def elsewhere(path: str, request: Request) -> Response:
        # slack.com answers paths outside /api/ with its HTML 404 page, not a JSON error
        box.log(request)
        return HTMLResponse(f"<h1>404 Not Found</h1><p>/{path} is not a Slack page.</p>", 404)

    return router
