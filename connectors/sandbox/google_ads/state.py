"""What the Google Ads simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox

DAILY_OPERATIONS = 15_000  # a Basic-access developer token's operations per day


def _fresh_quota() -> dict[str, Any]:
    return {"daily_operations": DAILY_OPERATIONS, "day": "", "used": {}}


@dataclass
class GoogleAdsState:
    # Operations per developer token today; tests may lower ``daily_operations``.
    quota: dict[str, Any] = field(default_factory=_fresh_quota)
    consented: set[str] = field(default_factory=set)  # client ids a user already consented to
    offline_codes: dict[str, bool] = field(default_factory=dict)  # code -> grants a refresh token
    created_seq: int = 0  # campaigns created
    lead_seq: int = 0  # lead-form test deliveries


Box = ProviderSandbox[GoogleAdsState]
