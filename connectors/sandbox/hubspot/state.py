"""What the HubSpot simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox


@dataclass
class HubSpotState:
    limits: dict[str, int] = field(default_factory=dict)  # overrides of DEFAULT_LIMITS
    created: dict[str, int] = field(default_factory=dict)  # records created, per object
    burst: dict[str, deque[float]] = field(default_factory=dict)  # per token: last 10 s
    search: dict[str, deque[float]] = field(default_factory=dict)  # per token: last second
    daily: dict[str, tuple[str, int]] = field(default_factory=dict)  # per token: (day, calls)
    event_seq: int = 0  # webhook events delivered
    # every batch call, for tests: {"object": "contacts", "action": "upsert", "inputs": 100}
    batches: list[dict[str, Any]] = field(default_factory=list)


Box = ProviderSandbox[HubSpotState]
