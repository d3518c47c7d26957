"""Fault knobs a test or operator turns on a simulator: rates, latency, expiry, mid-sync changes.

Faults are drawn from the sandbox's seeded RNG (``ProviderSandbox.before_call``),
so a run with the same seed fails at the same calls.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


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
