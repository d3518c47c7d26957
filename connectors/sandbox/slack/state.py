"""What the Slack simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox

# Web API tiers per method, and chat.postMessage's per-channel bucket (1 per second, burst 5).
DEFAULT_LIMITS: dict[str, Any] = {
    "per_minute": {"conversations.list": 20, "users.list": 20, "conversations.history": 50,
                   "conversations.info": 50, "conversations.replies": 50, "chat.update": 50,
                   "users.info": 100},
    "window_s": 60.0, "post_per_s": 1.0, "post_burst": 5.0,
}


@dataclass
class SlackState:
    # Rate-limit knobs, here so tests can shrink them and reset() restores them.
    limits: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_LIMITS))
    token_rotation: bool = True  # False: refreshes keep their refresh token
    event_seq: int = 0  # Events API deliveries
    # (token, channel) -> (bucket level, when last filled), for chat.postMessage.
    post_buckets: dict[tuple[str, str | None], tuple[float, float]] = field(default_factory=dict)
    hits: dict[tuple[str, str], deque[float]] = field(default_factory=dict)  # per token, method
    last_post_micro: int = 0  # message ts are unique and increasing
    # Events API: where deliveries go (the app's Request URL and interactivity URL), every
    # attempt made ({event_id, retry_num, reason, status_code}), each envelope by event_id
    # (for retries), Slack's waits before retries 1..3, and what response_urls were sent
    request_url: str | None = None
    interactivity_url: str | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    envelopes: dict[str, bytes] = field(default_factory=dict)
    retry_delays_s: tuple[float, ...] = (0.0, 60.0, 300.0)
    responses: list[dict[str, Any]] = field(default_factory=list)


Box = ProviderSandbox[SlackState]
