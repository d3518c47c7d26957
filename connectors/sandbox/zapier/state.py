"""What the Zapier simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox


@dataclass
class ZapierState:
    limits: dict[str, int] = field(default_factory=dict)  # overrides of DEFAULT_LIMITS
    windows: dict[str, deque[float]] = field(default_factory=dict)  # request times per window
    catches: list[dict[str, Any]] = field(default_factory=list)  # catch-hook requests received
    rest_deliveries: list[dict[str, Any]] = field(default_factory=list)  # REST-hook requests
    runs: list[dict[str, Any]] = field(default_factory=list)  # Zap runs those requests started
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # REST hooks by key
    cooldowns: dict[str, float] = field(default_factory=dict)  # per token: throttled until


Box = ProviderSandbox[ZapierState]
