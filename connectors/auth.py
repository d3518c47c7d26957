"""Auth schemes: each turns stored credentials into an ``httpx.Auth``.

A scheme also names the credential fields it needs, so a bad create request
is refused before anything is stored, with the missing field named.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from store.errors import ValidationFailed


class Bearer(httpx.Auth):
    def __init__(self, token: str, extra_headers: dict[str, str] | None = None) -> None:
        self.token = token
        self.extra = extra_headers or {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        for name, value in self.extra.items():
            request.headers[name] = value
        yield request


class QueryToken(httpx.Auth):
    """Graph API: ``access_token`` and, with an app secret, ``appsecret_proof`` as params."""

    def __init__(self, token: str, app_secret: str | None = None) -> None:
        self.token = token
        self.app_secret = app_secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        params = {"access_token": self.token}
        if self.app_secret:
            params["appsecret_proof"] = hmac.new(self.app_secret.encode(), self.token.encode(),
                                                 hashlib.sha256).hexdigest()
        request.url = request.url.copy_merge_params(params)
        yield request


class Header(httpx.Auth):
    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.name] = self.value
        yield request


class NoAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request


@dataclass(frozen=True)
class OAuth2:
    """Authorization-code grant (PKCE where the provider takes it) through authlib."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    refresh: bool = True
    scope_separator: str = " "
    client_auth: str = "client_secret_post"  # or client_secret_basic
    extra_authorize_params: dict[str, str] = field(default_factory=dict)
    token_method: str = "POST"
    # where the token response leaves out where the account lives (Mailchimp's dc): an
    # endpoint, relative to the token URL, read once after the exchange with the new token
    metadata_url: str | None = None


@dataclass(frozen=True)
class AuthScheme:
    """``kind`` is what the catalogue shows: oauth2, api_key, webhook or custom."""

    kind: str
    required: tuple[str, ...] = ()
    oauth: OAuth2 | None = None

    def validate(self, credentials: dict[str, Any]) -> None:
        for name in self.required:
            if not str(credentials.get(name) or "").strip():
                raise ValidationFailed(f"is required for {self.kind} auth",
                                       field=f"credentials.{name}")

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        return Bearer(credentials["access_token"])

    def build_for(self, credentials: dict[str, Any], settings: dict[str, Any]) -> httpx.Auth:
        """What the Connector calls; schemes whose headers need a setting too (Google Ads'
        login-customer-id) override this instead of ``build``."""
        return self.build(credentials)


@dataclass(frozen=True)
class BearerScheme(AuthScheme):
    kind: str = "oauth2"
    required: tuple[str, ...] = ("access_token",)


@dataclass(frozen=True)
class BasicKeyScheme(AuthScheme):
    """HTTP Basic with any user name and the API key as password (Mailchimp)."""

    kind: str = "api_key"
    required: tuple[str, ...] = ("api_key",)

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        if credentials.get("access_token"):  # an OAuth token is used the same way
            return Bearer(credentials["access_token"])
        return httpx.BasicAuth("connectus", credentials["api_key"])


@dataclass(frozen=True)
class HeaderScheme(AuthScheme):
    """A custom header carrying a static secret (the 'custom' auth type)."""

    kind: str = "custom"
    header: str = "X-Api-Key"
    credential: str = "api_key"

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        value = credentials.get(self.credential)
        return Header(self.header, value) if value else NoAuth()
