"""What every provider simulator shares: lazy seeded data, tokens, fault knobs.

A simulator is one module in this package exposing ``NAME`` (the provider key),
``DEMO_TOKEN`` (the fixed credential scripts may use) and
``create_router(sandbox: ProviderSandbox) -> APIRouter``. The sandbox app
mounts each router under ``/{NAME}``. Everything a simulator needs to stay
deterministic and cheap lives here:

* ``Dataset``: records are generated on demand from ``(seed, object, index)``;
  a million records cost nothing until read. Record ``i`` was last modified at
  ``EPOCH + i * step`` so a "modified since" filter is index arithmetic, and
  writes (or the "changes mid-sync" fault) land in an overlay that is newer
  than every generated record. Deletes leave a ``Tombstone`` (when, and the
  record as last written) for providers that still serve deleted records.
* ``TokenStore``: OAuth codes (with PKCE), access and refresh tokens, expiry by
  wall clock (per store or per token) or by call count (the "token expires after
  N calls" fault), refresh tokens kept or rotated on use, and ``peek()`` for
  token-introspection endpoints that must not count as a call.
* ``Faults``: 429 and 5xx rates, latency, token expiry, a record that changes
  mid-sync; drawn from a seeded RNG so a test run is reproducible.
* ``ProviderSandbox``: one simulator's state, including ``requests`` (what tests
  inspect afterwards, appended by ``log()``).

Wire-level helpers (timestamps, bearer extraction, OAuth error bodies, redirects,
webhook posting) live in ``_wire``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from connectors.sandbox._wire import same_secret

# 2024-01-01T00:00:00Z: generated records were modified after this instant, in index order.
EPOCH = 1_704_067_200


class Faults(BaseModel):
    """Fault knobs, settable at start or via ``POST /{provider}/_sandbox/faults``."""

    rate_429: float = Field(0.0, ge=0, le=1, description="probability a call gets a 429")
    rate_5xx: float = Field(0.0, ge=0, le=1, description="probability a call gets a 5xx")
    latency_ms: int = Field(0, ge=0, le=60_000, description="added to every call")
    token_expiry_calls: int | None = Field(
        None, ge=1, description="an access token stops working after this many calls"
    )
    mutate_after_calls: int | None = Field(
        None, ge=1, description="after this many data calls, record 0 of every object changes"
    )
    retry_after_s: int = Field(1, ge=0, le=3600, description="Retry-After sent with 429s")


@dataclass(frozen=True)
class Tombstone:
    """What a delete leaves behind, for providers that still serve deleted records."""

    deleted_at: float
    # The record as last written; None when it was only ever generated (regenerate it).
    last_written: dict[str, Any] | None


@dataclass
class Dataset:
    """Deterministic, lazily generated records plus an overlay of writes.

    ``make(object_name, index, rng)`` is supplied by the simulator and returns
    the provider-shaped record body for one index; the dataset adds nothing to
    it, so each simulator owns its wire shape.
    """

    seed: int
    counts: dict[str, int]
    make: Callable[[str, int, random.Random], dict[str, Any]]
    step_s: int = 60
    overlay: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    overlay_time: dict[str, dict[str, float]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, Tombstone]] = field(default_factory=dict)

    def rng(self, object_name: str, index: int) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{object_name}:{index}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def count(self, object_name: str) -> int:
        return self.counts.get(object_name, 0)

    def modified_at(self, index: int) -> float:
        return float(EPOCH + index * self.step_s)

    def generated(self, object_name: str, index: int) -> dict[str, Any]:
        return self.make(object_name, index, self.rng(object_name, index))

    def first_index_modified_after(self, ts: float) -> int:
        """Smallest generated index whose modification time is >= ts."""
        if ts <= EPOCH:
            return 0
        return int(-(-(ts - EPOCH) // self.step_s))

    def put(self, object_name: str, key: str, record: dict[str, Any]) -> float:
        """Store a written record; returns its modification time (now, strictly increasing)."""
        now = max(time.time(), self._latest_write(object_name) + 0.001)
        self.overlay.setdefault(object_name, {})[key] = record
        self.overlay_time.setdefault(object_name, {})[key] = now
        self.tombstones.get(object_name, {}).pop(key, None)
        return now

    def delete(self, object_name: str, key: str) -> float:
        """Delete a generated or written record; returns the deletion time."""
        now = time.time()
        last = self.overlay.get(object_name, {}).pop(key, None)
        self.tombstones.setdefault(object_name, {})[key] = Tombstone(now, last)
        return now

    def is_deleted(self, object_name: str, key: str) -> bool:
        return key in self.tombstones.get(object_name, {})

    def tombstone(self, object_name: str, key: str) -> Tombstone | None:
        return self.tombstones.get(object_name, {}).get(key)

    def deleted(self, object_name: str) -> Mapping[str, Tombstone]:
        """Deleted keys of an object and their tombstones, in deletion order."""
        return self.tombstones.get(object_name, {})

    def written(self, object_name: str) -> Iterator[tuple[str, dict[str, Any], float]]:
        """Overlay records in modification order: (key, record, modified_at)."""
        times = self.overlay_time.get(object_name, {})
        for key in sorted(self.overlay.get(object_name, {}), key=lambda k: times[k]):
            yield key, self.overlay[object_name][key], times[key]

    def _latest_write(self, object_name: str) -> float:
        return max(self.overlay_time.get(object_name, {}).values(), default=0.0)


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


class ProviderSandbox:
    """The whole state of one provider's simulator."""

    def __init__(self, name: str, *, seed: int = 7, faults: Faults | None = None,
                 counts: dict[str, int] | None = None,
                 client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 webhook_secret: str = "sandbox-webhook-secret") -> None:
        self.name = name
        self.seed = seed
        self.faults = faults or Faults()
        self.counts_override = counts or {}
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        self.calls = 0
        self.data_calls = 0
        self._rng = random.Random(seed)
        self.requests: list[dict[str, Any]] = []  # what a test can inspect afterwards
        # All mutable simulator state lives here so reset() can clear it: the dataset,
        # the token store, and anything simulator-specific (lists, channels, hooks ...).
        self.state: dict[str, Any] = {}

    def counts(self, defaults: dict[str, int]) -> dict[str, int]:
        return {**defaults, **self.counts_override}

    def dataset(self, defaults: dict[str, int],
                make: Callable[[str, int, random.Random], dict[str, Any]],
                step_s: int = 60) -> Dataset:
        """The simulator's dataset, created on first use; ``reset()`` forgets it."""
        found = self.state.get("dataset")
        if not isinstance(found, Dataset):
            found = self.state["dataset"] = Dataset(self.seed, self.counts(defaults), make,
                                                    step_s)
        return found

    def tokens(self, demo_token: str, *, lifetime_s: int | None, prefix: str = "",
               refresh_prefix: str | None = None, refresh_bytes: int = 32,
               rotate_refresh: bool = False) -> TokenStore:
        """The simulator's ``TokenStore``, created on first use; ``reset()`` forgets it."""
        found = self.state.get("tokens")
        if not isinstance(found, TokenStore):
            found = self.state["tokens"] = TokenStore(
                demo_token, lifetime_s=lifetime_s, prefix=prefix, refresh_prefix=refresh_prefix,
                refresh_bytes=refresh_bytes, rotate_refresh=rotate_refresh)
        return found

    def log(self, request: Request, *, params: dict[str, Any] | None = None,
            **extra: Any) -> dict[str, Any]:
        """Record a request in ``requests``: method, path, query, then ``extra`` (which may
        override them); returns the entry so a handler can add to it later. ``params``
        summarises the call's arguments (query plus body fields), minus anything secret."""
        entry = {"method": request.method, "path": request.url.path,
                 "query": dict(request.query_params), **extra}
        if params is not None:
            entry["params"] = {k: v for k, v in params.items() if "secret" not in k}
        self.requests.append(entry)
        return entry

    def reset(self) -> None:
        """Forget writes, tokens, counters and faults; keep seed and record counts."""
        self.faults = Faults()
        self.calls = 0
        self.data_calls = 0
        self._rng = random.Random(self.seed)
        self.requests.clear()
        self.state.clear()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults

    async def before_call(self) -> str | None:
        """Apply latency and draw a fault: returns '429', '5xx' or None."""
        self.calls += 1
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        roll = self._rng.random()
        if roll < self.faults.rate_429:
            return "429"
        if roll < self.faults.rate_429 + self.faults.rate_5xx:
            return "5xx"
        return None

    def count_data_call(self) -> bool:
        """Count a data-reading call; True exactly when the mid-sync change should fire."""
        self.data_calls += 1
        return self.faults.mutate_after_calls is not None and (
            self.data_calls == self.faults.mutate_after_calls
        )

    def new_token_calls(self) -> int | None:
        return self.faults.token_expiry_calls


FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis",
               "Frances", "Edsger", "Radia", "Guido", "Anita", "Tim", "Katherine", "Donald"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov",
              "Ritchie", "Allen", "Dijkstra", "Perlman", "Rossum", "Borg", "Berners-Lee",
              "Johnson", "Knuth"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
             "Tyrell", "Cyberdyne", "Soylent", "Vandelay"]


def person(rng: random.Random, index: int) -> dict[str, str]:
    """A deterministic person; the email is unique per index."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES)
    email = f"{first.lower()}.{last.lower().replace('-', '')}.{index}@{company.lower()}.example"
    return {"first": first, "last": last, "company": company, "email": email}
