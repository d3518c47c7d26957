"""The HubSpot simulator: CRM v3 objects, search, OAuth and v3-signed webhooks."""

from connectors.sandbox.hubspot.routes import (
    DEMO_TOKEN,
    NAME,
    WEBHOOK_TIMEOUT_S,
    create_router,
    signature_v3,
    webhook_delivery,
)
from connectors.sandbox.hubspot.state import HubSpotState

State = HubSpotState  # the contract's name for it

__all__ = [
    "DEMO_TOKEN",
    "NAME",
    "WEBHOOK_TIMEOUT_S",
    "HubSpotState",
    "State",
    "create_router",
    "signature_v3",
    "webhook_delivery",
]
