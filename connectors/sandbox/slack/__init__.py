"""The Slack simulator: Web API methods and tiers, OAuth v2 with rotation, Events API."""

from connectors.sandbox.slack.events import WEBHOOK_TIMEOUT_S, sign
from connectors.sandbox.slack.routes import (
    DEMO_TOKEN,
    NAME,
    create_router,
    limits,
    webhook_delivery,
)
from connectors.sandbox.slack.state import SlackState

State = SlackState  # the contract's name for it

__all__ = [
    "DEMO_TOKEN",
    "NAME",
    "WEBHOOK_TIMEOUT_S",
    "SlackState",
    "State",
    "create_router",
    "limits",
    "sign",
    "webhook_delivery",
]
