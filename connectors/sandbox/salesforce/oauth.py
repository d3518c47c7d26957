"""Salesforce OAuth 2.0 web-server flow, as ``login.salesforce.com`` answers it.

``authorize`` consents at once and redirects with ``code`` and ``state``; ``token``
exchanges a code (PKCE S256 when a challenge was sent; the client secret may be
left out only then) or a refresh token. A refresh token is issued only when the
granted scope includes ``refresh_token`` or ``offline_access``; a refresh answers
without one (rotation is off, Salesforce's default). There is no ``expires_in``:
the session just stops working, which the REST API reports as 401
``INVALID_SESSION_ID``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from connectors.sandbox.kit import TokenStore
from connectors.sandbox.kit.wire import bearer_token, oauth_error, redirect_to, same_secret
from connectors.sandbox.salesforce.data import DEMO_TOKEN, USER_ID
from connectors.sandbox.salesforce.state import Box

DEFAULT_SCOPE = "api id refresh_token"  # what the connected app grants when none is asked for
_REFRESH_SCOPES = {"refresh_token", "offline_access"}


def tokens(box: Box) -> TokenStore:
    # Real access tokens start with the org id and "!"; connectors sometimes log that prefix.
    return box.tokens(DEMO_TOKEN, lifetime_s=None, prefix=box.state.org_id + "!")


def bearer(request: Request) -> str | None:
    # The REST API takes the session id as a Bearer token or, historically, as "OAuth".
    return bearer_token(request, ("bearer", "oauth"))


def _identity_url(box: Box, request: Request) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/salesforce/id/{box.state.org_id}/{USER_ID}"


def _token_body(box: Box, request: Request, access: str, refresh: str | None,
                scope: str) -> dict[str, Any]:
    issued_at = str(int(time.time() * 1000))
    identity = _identity_url(box, request)
    # Salesforce's documented signature: HMAC-SHA256 of id + issued_at keyed by the secret.
    digest = hmac.new(box.client_secret.encode(), (identity + issued_at).encode(),
                      hashlib.sha256).digest()
    body: dict[str, Any] = {"access_token": access}
    if refresh:
        body["refresh_token"] = refresh
    body.update(signature=base64.b64encode(digest).decode(), scope=scope,
                instance_url=str(request.base_url).rstrip("/") + "/salesforce", id=identity,
                token_type="Bearer", issued_at=issued_at)
    return body


def add_routes(router: APIRouter, box: Box,
               log: Callable[[Box, Request], None]) -> None:
    """Register the OAuth endpoints; ``log(box, request)`` records each request."""

    @router.get("/services/oauth2/authorize")
    async def authorize(request: Request) -> Response:
        log(box, request)
        params = request.query_params
        if params.get("client_id") != box.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        redirect = params.get("redirect_uri")
        if not redirect:
            return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if params.get("response_type") != "code":
            query = {"error": "unsupported_response_type", "error_description": "response type "
                     "not supported", **({"state": params["state"]} if "state" in params else {})}
            return redirect_to(redirect, query)
        challenge = params.get("code_challenge")
        code = tokens(box).issue_code(box.client_id, redirect, params.get("scope") or DEFAULT_SCOPE,
                                      challenge, params.get("code_challenge_method")
                                      or ("S256" if challenge else None))
        query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        return redirect_to(redirect, query)

    @router.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        log(box, request)
        form = dict(parse_qsl((await request.body()).decode()))
        store = tokens(box)
        if form.get("client_id") != box.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if secret is not None and not same_secret(secret, box.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            pending = store.pending_code(form.get("code", ""))
            if secret is None and not (pending and pending.code_challenge):
                return oauth_error("invalid_client", "invalid client credentials")
            granted = store.redeem_code(form.get("code", ""), box.client_id,
                                        form.get("redirect_uri"), form.get("code_verifier"))
            if granted is None:
                bad_verifier = pending is not None and pending.code_challenge is not None
                return oauth_error("invalid_grant", "invalid code verifier" if bad_verifier
                                    else "invalid authorization code")
            issued = store.issue(granted.scope,
                                 with_refresh=bool(_REFRESH_SCOPES & set(granted.scope.split())),
                                 calls=box.new_token_calls())
            return JSONResponse(_token_body(box, request, issued.access_token,
                                            issued.refresh_token, granted.scope))
        if grant == "refresh_token":
            rotated = store.redeem_refresh(form.get("refresh_token", ""),
                                           calls=box.new_token_calls())
            if rotated is None:
                return oauth_error("invalid_grant", "expired access/refresh token")
            return JSONResponse(_token_body(box, request, rotated.access_token, None,
                                            rotated.scope))
        return oauth_error("unsupported_grant_type", "grant type not supported")

    @router.get("/services/oauth2/userinfo")
    @router.get("/id/{org}/{user}")
    async def userinfo(request: Request) -> Response:
        log(box, request)
        fault = await box.before_call()
        if fault is not None:
            status = 503 if fault == "5xx" else 403
            return JSONResponse([{"message": "Server temporarily unavailable", "errorCode":
                                  "SERVER_UNAVAILABLE" if status == 503 else
                                  "REQUEST_LIMIT_EXCEEDED"}], status_code=status)
        if tokens(box).check(bearer(request)) != "ok":
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)
        instance = str(request.base_url).rstrip("/") + "/salesforce"
        return JSONResponse({
            "sub": _identity_url(box, request), "user_id": USER_ID,
            "organization_id": box.state.org_id,
            "preferred_username": "connectus@sandbox.example", "nickname": "connectus",
            "name": "Connectus Sandbox", "email": "connectus@sandbox.example",
            "email_verified": True, "given_name": "Connectus", "family_name": "Sandbox",
            "zoneinfo": "America/Los_Angeles", "active": True, "user_type": "STANDARD",
            "language": "en_US", "locale": "en_US", "utcOffset": -28_800_000,
            "urls": {"rest": f"{instance}/services/data/v{{version}}/",
                     "sobjects": f"{instance}/services/data/v{{version}}/sobjects/",
                     "query": f"{instance}/services/data/v{{version}}/query/"},
        })
