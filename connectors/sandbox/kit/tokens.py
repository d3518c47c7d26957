"""OAuth codes (with PKCE), access and refresh tokens a simulator issued, and its demo credential.

Expiry is by wall clock (per store or per token) or by call count (the "token
expires after N calls" fault); refresh tokens are kept or rotated on use; and
``peek()`` serves token-introspection endpoints that must not count as a call.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, replace
from enum import Enum

from connectors.sandbox.kit.wire import same_secret


@dataclass(frozen=True)
class IssuedToken:
    """An access token as issued; frozen so only the store changes what it knows."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None
    calls_left: int | None
    scope: str

    def expired(self, now: float | None = None) -> bool:
        """Past its lifetime, or out of calls (the "expires after N calls" fault)."""
        now = time.time() if now is None else now
        if self.expires_at is not None and now >= self.expires_at:
            return True
        return self.calls_left is not None and self.calls_left <= 0


@dataclass(frozen=True)
class AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None


class StoreDefault(Enum):
    """An ``issue()`` argument left to the store's setting (None already means "never")."""

    LIFETIME = "lifetime"


class TokenStore:
    """OAuth codes and tokens a simulator issued, plus its fixed demo credential.

    Access tokens start with ``prefix``; refresh tokens with ``refresh_prefix``
    (default ``prefix + "r-"``), carrying ``refresh_bytes`` random bytes. A refresh
    keeps the refresh token unless ``rotate_refresh`` is set: then every refresh
    answers with a new one and the old one is revoked (Slack's token rotation).
    """

    def __init__(self, demo_token: str, *, lifetime_s: int | None, prefix: str = "",
                 refresh_prefix: str | None = None, refresh_bytes: int = 32,
                 rotate_refresh: bool = False) -> None:
        self.demo_token = demo_token
        self.lifetime_s = lifetime_s
        self.prefix = prefix
        self.refresh_prefix = prefix + "r-" if refresh_prefix is None else refresh_prefix
        self.refresh_bytes = refresh_bytes
        self.rotate_refresh = rotate_refresh
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.refresh: dict[str, str] = {}  # live refresh token -> current access token
        self.revoked: set[str] = set()  # refresh tokens given up by rotation

    def issue_code(self, client_id: str, redirect_uri: str, scope: str,
                   code_challenge: str | None, code_challenge_method: str | None) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthCode(client_id, redirect_uri, scope, code_challenge,
                                    code_challenge_method)
        return code

    def pending_code(self, code: str) -> AuthCode | None:
        """A code not yet redeemed, for checks providers make before redeeming it."""
        return self.codes.get(code)

    def redeem_code(self, code: str, client_id: str, redirect_uri: str | None,
                    code_verifier: str | None) -> AuthCode | None:
        """One use only; PKCE S256/plain checked when the code was bound to a challenge."""
        grant = self.codes.pop(code, None)
        if grant is None or grant.client_id != client_id:
            return None
        if redirect_uri is not None and redirect_uri != grant.redirect_uri:
            return None
        if grant.code_challenge:
            if not code_verifier:
                return None
            if grant.code_challenge_method == "S256":
                digest = hashlib.sha256(code_verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                expected = code_verifier
            if not same_secret(expected, grant.code_challenge):
                return None
        return grant

    def issue(self, scope: str, *, with_refresh: bool = True, calls: int | None = None,
              lifetime_s: int | StoreDefault | None = StoreDefault.LIFETIME) -> IssuedToken:
        """A new access token (and refresh token); ``lifetime_s`` None never expires."""
        refresh = self._new_refresh() if with_refresh else None
        return self._store(scope, refresh, calls, lifetime_s)

    def redeem_refresh(self, refresh_token: str, calls: int | None = None) -> IssuedToken | None:
        """Exchange a refresh token: the old access token dies; the refresh token stays,
        or is replaced and revoked when the store rotates them."""
        old = self.refresh.get(refresh_token)
        if old is None:  # unknown, or revoked by rotation
            return None
        previous = self.tokens.pop(old, None)
        keep = refresh_token
        if self.rotate_refresh:
            del self.refresh[refresh_token]
            self.revoked.add(refresh_token)
            keep = self._new_refresh()
        return self._store(previous.scope if previous else "", keep, calls,
                           StoreDefault.LIFETIME)

    def peek(self, presented: str | None) -> IssuedToken | None:
        """The issued token behind ``presented`` without counting a call (introspection
        endpoints); None for unknown tokens and for the demo credential."""
        return self.tokens.get(presented) if presented else None

    def check(self, presented: str | None) -> str:
        """'ok', 'missing', 'invalid' or 'expired'; counts one call against the token."""
        if not presented:
            return "missing"
        if same_secret(presented, self.demo_token):
            return "ok"
        token = self.tokens.get(presented)
        if token is None:
            return "invalid"
        if token.expired():
            return "expired"
        if token.calls_left is not None:
            self.tokens[presented] = replace(token, calls_left=token.calls_left - 1)
        return "ok"

    def _new_refresh(self) -> str:
        return self.refresh_prefix + secrets.token_urlsafe(self.refresh_bytes)

    def _store(self, scope: str, refresh: str | None, calls: int | None,
               lifetime_s: int | StoreDefault | None) -> IssuedToken:
        lifetime = self.lifetime_s if lifetime_s is StoreDefault.LIFETIME else lifetime_s
        token = IssuedToken(self.prefix + secrets.token_urlsafe(32), refresh,
                            time.time() + lifetime if lifetime else None, calls, scope)
        self.tokens[token.access_token] = token
        if refresh:
            self.refresh[refresh] = token.access_token
        return token
