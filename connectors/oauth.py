"""OAuth 2.0 authorization code (with PKCE where the provider takes it) through authlib.

``authorize_url`` builds the consent URL; the ``state`` is an encrypted,
expiring token binding the flow to a tenant, a user and an integration, and
carrying the PKCE verifier, so the callback can trust it without a session.
``exchange`` swaps the code for tokens; ``refresh`` renews them. Tokens are
returned normalised (``expires_at`` in epoch seconds) for encryption by the
caller; they are never logged.

The token endpoint's answer is judged here, not by authlib: a refusal becomes
``ReconnectNeeded`` in the provider's own words (authlib keeps only an OAuth
``error`` field, and HubSpot's refusal has none), a 429 or 5xx a transient
error, so a failed renewal says which provider refused what, and what to do.
"""

from __future__ import annotations

import secrets
import time
import warnings
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():  # authlib warns when it falls back to plain httpx
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    # the httpx authlib's client is built on: the httpx2 fork where it is installed (the
    # LangChain stack brings it), plain httpx otherwise; an auth it is handed, and the
    # errors it raises, are that library's own types
    from authlib.integrations.httpx_client._compat import httpx2 as authlib_http

from connectors.auth import OAuth2
from connectors.error_table import provider_message, retry_after_seconds
from connectors.errors import ProviderDown, RateLimited, ReconnectNeeded

# fields of a token response that are not secrets and that later calls need
_KEEP = ("instance_url", "id", "team", "bot_user_id", "scope", "token_type", "dc",
         "api_endpoint")


class _NoClientAuth(authlib_http.Auth):
    """No Authorization header: a GET token endpoint takes the credentials in its query."""

    def auth_flow(self, request: Any) -> Any:
        yield request


TRANSPORT_ERRORS = (httpx.TransportError, authlib_http.TransportError)


def new_verifier() -> str:
    return generate_token(64)


def new_state_nonce() -> str:
    return secrets.token_urlsafe(16)


def oauth_urls(config: OAuth2, sandbox_url: str | None,
               sandbox_paths: tuple[str, str] | None) -> tuple[str, str]:
    """The (authorize, token) endpoints, pointed at the simulator in the sandbox."""
    if sandbox_url and sandbox_paths:
        return sandbox_url + sandbox_paths[0], sandbox_url + sandbox_paths[1]
    return config.authorize_url, config.token_url


def _client(config: OAuth2, client_id: str, client_secret: str | None,
            redirect_uri: str | None, provider: str = "", **kw: Any) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri,
        scope=config.scope_separator.join(config.scopes) or None,
        token_endpoint_auth_method=config.client_auth,
        code_challenge_method="S256" if config.pkce else None, timeout=30, **kw)
    client.register_compliance_hook("access_token_response",
                                    lambda response: _judge(response, provider, EXCHANGE))
    client.register_compliance_hook("refresh_token_response",
                                    lambda response: _judge(response, provider, RENEWAL))
    return client


# (what was asked, what a person should do when the provider refuses it)
EXCHANGE = ("did not accept the authorization code", "Start connecting again: an "
            "authorization code is single-use and expires within minutes.")
RENEWAL = ("refused to renew the access token", "Reconnect the integration through "
           "{provider}'s consent screen: the refresh token was revoked or has expired.")


def _judge(response: httpx.Response, provider: str, asked: tuple[str, str]) -> httpx.Response:
    """The token endpoint's answer, or the error it amounts to."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    fields = body if isinstance(body, dict) else {}
    status = response.status_code
    if status < 400 and fields.get("ok") is not False and "access_token" in fields:
        return response
    code = next((str(fields[k]) for k in ("error", "status", "errorCode")
                 if isinstance(fields.get(k), str) and fields[k] != "error"), None)
    said = provider_message(body) or code or response.reason_phrase or f"HTTP {status}"
    kw: dict[str, Any] = {"provider": provider, "http_status": status, "provider_code": code,
                          "provider_message": said}
    words = f"{said} ({code})" if code and code != said else said
    if status == 429:
        return _raise(RateLimited(f"{provider}'s token endpoint asks us to slow down: {words}",
                                  retry_after=retry_after_seconds(response), **kw))
    if status >= 500:
        return _raise(ProviderDown(f"{provider}'s token endpoint is failing (HTTP {status}): "
                                   f"{words}", **kw))
    if status < 400 and not code:
        words = "the answer carried no access token"
    what, action = asked
    raise ReconnectNeeded(f"{provider} {what}: {words}; reconnect the integration",
                          action=action.format(provider=provider), **kw)


def _raise(error: Exception) -> httpx.Response:
    raise error


def authorize_url(config: OAuth2, authorize_endpoint: str, client_id: str,
                  redirect_uri: str, state: str, code_verifier: str | None) -> str:
    client = _client(config, client_id, None, redirect_uri)
    url, _ = client.create_authorization_url(
        authorize_endpoint, state=state,
        code_verifier=code_verifier if config.pkce else None,
        **config.extra_authorize_params)
    return str(url)


async def exchange(config: OAuth2, token_endpoint: str, client_id: str, client_secret: str,
                   redirect_uri: str, code: str, code_verifier: str | None,
                   provider: str) -> dict[str, Any]:
    # a GET token endpoint (Facebook) takes the client credentials in the query: authlib's
    # client auth would put them in a body, which a GET does not carry
    in_query: dict[str, Any] = ({"client_id": client_id, "client_secret": client_secret,
                                 "auth": _NoClientAuth()} if config.token_method == "GET" else {})
    async with _client(config, client_id, client_secret, redirect_uri, provider) as client:
        try:
            token = await client.fetch_token(
                token_endpoint, code=code, method=config.token_method,
                code_verifier=code_verifier if config.pkce else None, **in_query)
        except (OAuthError, ValueError, KeyError) as exc:
            raise ReconnectNeeded(f"{provider} did not accept the authorization code: {exc}",
                                  provider=provider, action=EXCHANGE[1]) from None
        except TRANSPORT_ERRORS as exc:
            raise _unreachable(provider, exc) from None
    tokens = normalise(dict(token), client_id, client_secret, provider)
    if config.metadata_url:
        tokens.update(await _metadata(config, token_endpoint, tokens["access_token"], provider))
    return tokens


async def _metadata(config: OAuth2, token_endpoint: str, access_token: str,
                    provider: str) -> dict[str, Any]:
    """The kept fields (dc, api_endpoint ...) of the provider's token metadata endpoint."""
    assert config.metadata_url is not None
    url = httpx.URL(token_endpoint).join(config.metadata_url)
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            reply = await client.get(url, headers={"Authorization": f"OAuth {access_token}",
                                                   "Accept": "application/json"})
            body = reply.json()
        except (httpx.HTTPError, ValueError):
            body = None
    if not isinstance(body, dict) or "error" in body:
        raise ReconnectNeeded(f"{provider} issued a token but its metadata endpoint did not "
                              "describe the account; reconnect the integration",
                              provider=provider)
    return {key: body[key] for key in _KEEP if body.get(key) is not None}


async def refresh(config: OAuth2, token_endpoint: str, credentials: dict[str, Any],
                  provider: str) -> dict[str, Any]:
    """New tokens from the refresh token; ReconnectNeeded when the provider says no."""
    refresh_token = credentials.get("refresh_token")
    if not config.refresh or not refresh_token:
        # nothing says the token expired: it may be wrong or revoked, so do not call it that
        why = ("issues no refresh tokens" if not config.refresh else
               "gave this integration no refresh token")
        raise ReconnectNeeded(f"{provider} {why}, so its access token cannot be renewed; "
                              "reconnect the integration", provider=provider)
    client_id = credentials.get("client_id", "")
    client_secret = credentials.get("client_secret")
    async with _client(config, client_id, client_secret, None, provider) as client:
        try:
            token = await client.refresh_token(token_endpoint, refresh_token=refresh_token)
        except (OAuthError, ValueError, KeyError) as exc:
            raise ReconnectNeeded(f"{provider} {RENEWAL[0]}: {exc}; reconnect the integration",
                                  provider=provider,
                                  action=RENEWAL[1].format(provider=provider)) from None
        except TRANSPORT_ERRORS as exc:
            raise _unreachable(provider, exc) from None
    fresh = normalise(dict(token), client_id, client_secret, provider)
    fresh.setdefault("refresh_token", refresh_token)  # most providers keep the old one valid
    return {**credentials, **fresh}


def _unreachable(provider: str, exc: Exception) -> ProviderDown:
    return ProviderDown(f"could not reach {provider}'s token endpoint: {type(exc).__name__}",
                        provider=provider)


def normalise(token: dict[str, Any], client_id: str, client_secret: str | None,
              provider: str = "") -> dict[str, Any]:
    if "access_token" not in token:  # _judge refuses these first; a token given by hand
        raise ReconnectNeeded(f"{provider or 'the provider'}'s token answer carried no "
                              "access token; reconnect the integration", provider=provider)
    out: dict[str, Any] = {"access_token": token["access_token"], "client_id": client_id}
    if client_secret:
        out["client_secret"] = client_secret
    if token.get("refresh_token"):
        out["refresh_token"] = token["refresh_token"]
    expires_in = token.get("expires_in")
    if expires_in:  # 0 or missing: the token does not expire on a clock (Mailchimp, Salesforce)
        out["expires_at"] = int(token.get("expires_at") or time.time() + int(expires_in))
    for key in _KEEP:
        if token.get(key) is not None:
            out[key] = token[key]
    return out
