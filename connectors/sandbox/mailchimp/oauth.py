"""Mailchimp OAuth 2 (``login.mailchimp.com``): authorize, token exchange, metadata.

Mailchimp has no scopes and no refresh tokens; an access token "does not expire"
(``expires_in: 0``) and is used exactly like an API key. Its datacenter is not in
the token: ``/oauth2/metadata`` tells the client where to send API calls.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connectors.sandbox.kit import TokenStore
from connectors.sandbox.kit.wire import bearer_token, oauth_error, redirect_to, same_secret
from connectors.sandbox.mailchimp.data import DATACENTER, DEMO_TOKEN
from connectors.sandbox.mailchimp.state import Box


def tokens(box: Box) -> TokenStore:
    return box.tokens(DEMO_TOKEN, lifetime_s=None)


def add_routes(router: APIRouter, box: Box) -> None:
    @router.get("/oauth2/authorize")
    async def authorize(request: Request) -> Response:
        box.log(request)
        params = request.query_params
        if params.get("client_id") != box.client_id:
            return oauth_error("invalid_client", "Invalid client_id")
        redirect = params.get("redirect_uri")
        if not redirect:
            return oauth_error("invalid_request", "Missing redirect_uri")
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return redirect_to(redirect, {"error": "unsupported_response_type", **state})
        challenge = params.get("code_challenge")
        code = tokens(box).issue_code(box.client_id, redirect, "", challenge,
                                      params.get("code_challenge_method")
                                      or ("S256" if challenge else None))
        return redirect_to(redirect, {"code": code, **state})

    @router.post("/oauth2/token")
    async def token(request: Request) -> Response:
        box.log(request)
        form = dict(parse_qsl((await request.body()).decode()))
        store = tokens(box)
        secret = form.get("client_secret")
        pending = store.pending_code(form.get("code", ""))
        public_pkce = secret is None and pending is not None and bool(pending.code_challenge)
        if form.get("client_id") != box.client_id or not (
                public_pkce or same_secret(secret, box.client_secret)):
            return oauth_error("invalid_client", "Invalid client credentials", 401)
        if form.get("grant_type") != "authorization_code":
            return oauth_error("unsupported_grant_type", "Only authorization_code is supported")
        granted = store.redeem_code(form.get("code", ""), box.client_id,
                                    form.get("redirect_uri"), form.get("code_verifier"))
        if granted is None:
            return oauth_error("invalid_grant", "Invalid authorization code")
        issued = store.issue("", with_refresh=False, calls=box.new_token_calls())
        return JSONResponse({"access_token": issued.access_token, "expires_in": 0, "scope": None})

    @router.get("/oauth2/metadata")
    async def metadata(request: Request) -> Response:
        box.log(request)
        presented = bearer_token(request, ("oauth", "bearer"))
        store = tokens(box)
        # An API key is not an OAuth token, even though the API accepts both.
        if store.peek(presented) is None or store.check(presented) != "ok":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        base = str(request.base_url).rstrip("/")
        body: dict[str, Any] = {
            "dc": DATACENTER, "role": "owner", "accountname": "Connectus Sandbox",
            "user_id": 81542219,
            "login": {"email": "owner@connectus.example", "avatar": None, "login_id": 81542219,
                      "login_name": "connectus", "login_email": "owner@connectus.example"},
            "login_url": "https://login.mailchimp.com",
            "api_endpoint": f"{base}/mailchimp/{DATACENTER}",
        }
        return JSONResponse(body)
