"""The Zapier simulator: catch and REST hooks, the Workflow API, OAuth."""

from connectors.sandbox.zapier.routes import DEMO_TOKEN, NAME, create_router, webhook_delivery
from connectors.sandbox.zapier.state import ZapierState

State = ZapierState  # the contract's name for it

__all__ = ["DEMO_TOKEN", "NAME", "State", "ZapierState", "create_router", "webhook_delivery"]
