"""What the Facebook Ads simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox

# Calls per rolling window per ad account and use case, and per token for the app.
DEFAULT_LIMITS: dict[str, Any] = {"window_s": 3600.0, "ads_management": 300,
                                  "ads_insights": 600, "app_calls": 4800}


@dataclass
class FacebookAdsState:
    require_proof: bool = False  # the app demands appsecret_proof on every call
    limits: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_LIMITS))
    # ("app", token) or (use case, ad account) -> call times in the window.
    usage_hits: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    created_seq: int = 0  # campaigns created


Box = ProviderSandbox[FacebookAdsState]
