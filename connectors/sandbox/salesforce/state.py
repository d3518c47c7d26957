"""What the Salesforce simulator remembers between calls; ``box.reset()`` makes a fresh one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.kit import ProviderSandbox
from connectors.sandbox.salesforce.data import ORG_ID

DEFAULT_ALLOCATION = 100_000  # an Enterprise org's base daily API requests, as the spec says


@dataclass
class SalesforceState:
    org_id: str = ORG_ID  # tests may change it
    daily_api_allocation: int = DEFAULT_ALLOCATION  # tests may lower it
    used: int = 0  # API requests counted against the allocation
    serial: int = 0  # ids handed out: created records, query locators, notifications
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)  # open query locators
    instance_url: str = ""  # learnt from the first token request


Box = ProviderSandbox[SalesforceState]
