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
  than every generated record.
* ``TokenStore``: OAuth codes (with PKCE), access and refresh tokens, expiry by
  wall clock or by call count (the "token expires after N calls" fault).
* ``Faults``: 429 and 5xx rates, latency, token expiry, a record that changes
  mid-sync; drawn from a seeded RNG so a test run is reproducible.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

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
    deleted: dict[str, set[str]] = field(default_factory=dict)

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
        self.deleted.get(object_name, set()).discard(key)
        return now

    def delete(self, object_name: str, key: str) -> None:
        self.deleted.setdefault(object_name, set()).add(key)
        self.overlay.get(object_name, {}).pop(key, None)

    def is_deleted(self, object_name: str, key: str) -> bool:
        return key in self.deleted.get(object_name, set())

    def written(self, object_name: str) -> Iterator[tuple[str, dict[str, Any], float]]:
        """Overlay records in modification order: (key, record, modified_at)."""
        times = self.overlay_time.get(object_name, {})
        for key in sorted(self.overlay.get(object_name, {}), key=lambda k: times[k]):
            yield key, self.overlay[object_name][key], times[key]

    def _latest_write(self, object_name: str) -> float:
        return max(self.overlay_time.get(object_name, {}).values(), default=0.0)


@dataclass
class IssuedToken:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    calls_left: int | None
    scope: str


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None


class TokenStore:
    """OAuth codes and tokens a simulator issued, plus its fixed demo credential."""

    def __init__(self, demo_token: str, *, lifetime_s: int | None, prefix: str = "") -> None:
        self.demo_token = demo_token
        self.lifetime_s = lifetime_s
        self.prefix = prefix
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.refresh: dict[str, str] = {}  # refresh token -> current access token
        self.revoked: set[str] = set()

    def issue_code(self, client_id: str, redirect_uri: str, scope: str,
                   code_challenge: str | None, code_challenge_method: str | None) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthCode(client_id, redirect_uri, scope, code_challenge,
                                    code_challenge_method)
        return code

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
            if not secrets.compare_digest(expected, grant.code_challenge):
                return None
        return grant

    def issue(self, scope: str, *, with_refresh: bool = True,
              calls: int | None = None) -> IssuedToken:
        access = self.prefix + secrets.token_urlsafe(32)
        refresh = (self.prefix + "r-" + secrets.token_urlsafe(32)) if with_refresh else None
        expires = time.time() + self.lifetime_s if self.lifetime_s else None
        token = IssuedToken(access, refresh, expires, calls, scope)
        self.tokens[access] = token
        if refresh:
            self.refresh[refresh] = access
        return token

    def rotate(self, refresh_token: str, calls: int | None = None) -> IssuedToken | None:
        """Exchange a refresh token: the old access token dies, the refresh token stays."""
        old = self.refresh.get(refresh_token)
        if old is None or refresh_token in self.revoked:
            return None
        previous = self.tokens.pop(old, None)
        scope = previous.scope if previous else ""
        access = self.prefix + secrets.token_urlsafe(32)
        expires = time.time() + self.lifetime_s if self.lifetime_s else None
        token = IssuedToken(access, refresh_token, expires, calls, scope)
        self.tokens[access] = token
        self.refresh[refresh_token] = access
        return token

    def check(self, presented: str | None) -> str:
        """'ok', 'missing', 'invalid' or 'expired'; counts one call against the token."""
        if not presented:
            return "missing"
        if secrets.compare_digest(presented, self.demo_token):
            return "ok"
        token = self.tokens.get(presented)
        if token is None:
            return "invalid"
        if token.expires_at is not None and time.time() >= token.expires_at:
            return "expired"
        if token.calls_left is not None:
            if token.calls_left <= 0:
                return "expired"
            token.calls_left -= 1
        return "ok"


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
        if "dataset" not in self.state:
            self.state["dataset"] = Dataset(self.seed, self.counts(defaults), make, step_s)
        return self.state["dataset"]  # type: ignore[no-any-return]

    def tokens(self, demo_token: str, *, lifetime_s: int | None, prefix: str = "") -> TokenStore:
        """The simulator's token store, created on first use; ``reset()`` forgets it."""
        if "tokens" not in self.state:
            self.state["tokens"] = TokenStore(demo_token, lifetime_s=lifetime_s, prefix=prefix)
        return self.state["tokens"]  # type: ignore[no-any-return]

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


def iso(ts: float, *, ms: bool = True, z: bool = True) -> str:
    """ISO-8601 UTC: ``2024-01-01T00:00:00.000Z`` (or ``+00:00`` when z=False)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms:
        text += f".{int(dt.microsecond / 1000):03d}"
    return text + ("Z" if z else "+00:00")


def parse_iso(text: str) -> float:
    """Parse ISO-8601 as providers send it (``Z``, ``+00:00`` or ``+0000``)."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value).timestamp()


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
