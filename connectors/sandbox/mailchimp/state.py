"""What the Mailchimp simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox


@dataclass
class MailchimpState:
    inflight: dict[str, int] = field(default_factory=dict)  # open connections per API key
    memo: dict[str, dict[str, int]] = field(default_factory=dict)  # per list: hash -> index
    webhooks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # per list
    serial: int = 0  # webhook ids handed out


Box = ProviderSandbox[MailchimpState]
