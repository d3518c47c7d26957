"""The contract a simulator package fulfils, which is also how the sandbox app finds one.

A simulator is a subpackage of ``connectors.sandbox`` whose ``__init__`` exposes
these names; any other subpackage (``kit``, this one) lacks them and is not mounted.
``WEBHOOK_TIMEOUT_S`` (the provider's answer deadline for a webhook, default
10 s) is optional and read with a default.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter


@runtime_checkable
class Simulator(Protocol):
    NAME: str  # the provider key: the package's name, and its URL prefix
    DEMO_TOKEN: str  # the fixed credential scripts may use

    # The simulator's state dataclass; called with no arguments on start and reset.
    State: type[Any]

    def create_router(self, box: Any) -> APIRouter: ...

    def webhook_delivery(self, box: Any, target_url: str,
                         payload: Any) -> tuple[dict[str, str], bytes]: ...


