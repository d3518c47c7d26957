"""One simulator's whole state: counters, fault draws, the request log, and typed state.

Everything mutable lives on the ``ProviderSandbox`` so ``reset()`` forgets it:
the lazily made ``Dataset`` and ``TokenStore`` and the simulator's own state
object, a dataclass each simulator defines (``HubSpotState``, ...) and passes as
its factory. Code that holds a ``ProviderSandbox[HubSpotState]`` reads
``box.state.seq``; code that holds an untyped one (``server.sandboxes["hubspot"]``)
asks ``box.state_as(HubSpotState)``, which checks the type.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fastapi import Request

from connectors.sandbox.kit.dataset import Dataset
from connectors.sandbox.kit.faults import Faults
from connectors.sandbox.kit.tokens import TokenStore

S = TypeVar("S")
T = TypeVar("T")


class ProviderSandbox(Generic[S]):
    """The whole state of one provider's simulator."""

    def __init__(self, name: str, new_state: Callable[[], S], *, seed: int = 7,
                 faults: Faults | None = None,
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
        self._new_state = new_state
        self.state: S = new_state()
        self._dataset: Dataset | None = None
        self._tokens: TokenStore | None = None

    def state_as(self, kind: type[T]) -> T:
        """The simulator's state as ``kind``, for holders of an untyped sandbox."""
        if not isinstance(self.state, kind):
            raise TypeError(f"the {self.name} sandbox keeps {type(self.state).__name__}, "
                            f"not {kind.__name__}")
        return self.state

    def counts(self, defaults: dict[str, int]) -> dict[str, int]:
        return {**defaults, **self.counts_override}

    def dataset(self, defaults: dict[str, int],
                make: Callable[[str, int, random.Random], dict[str, Any]],
                step_s: int = 60) -> Dataset:
        """The simulator's dataset, created on first use; ``reset()`` forgets it."""
        if self._dataset is None:
            self._dataset = Dataset(self.seed, self.counts(defaults), make, step_s)
        return self._dataset

    def tokens(self, demo_token: str, *, lifetime_s: int | None, prefix: str = "",
               refresh_prefix: str | None = None, refresh_bytes: int = 32,
               rotate_refresh: bool = False) -> TokenStore:
        """The simulator's ``TokenStore``, created on first use; ``reset()`` forgets it."""
        if self._tokens is None:
            self._tokens = TokenStore(
                demo_token, lifetime_s=lifetime_s, prefix=prefix, refresh_prefix=refresh_prefix,
                refresh_bytes=refresh_bytes, rotate_refresh=rotate_refresh)
        return self._tokens

    @property
    def current_dataset(self) -> Dataset:
        """The dataset made so far, for tests that inspect writes; LookupError before any."""
        if self._dataset is None:
            raise LookupError(f"the {self.name} sandbox has not made its dataset yet")
        return self._dataset

    @property
    def current_tokens(self) -> TokenStore:
        """The token store made so far, for tests that inspect it; LookupError before any."""
        if self._tokens is None:
            raise LookupError(f"the {self.name} sandbox has not issued tokens yet")
        return self._tokens

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
        self.state = self._new_state()
        self._dataset = None
        self._tokens = None

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
