"""The Salesforce simulator: REST sObjects and SOQL, Composite, OAuth and outbound messages."""

from connectors.sandbox.salesforce.data import outbound_message
from connectors.sandbox.salesforce.routes import DEMO_TOKEN, NAME, create_router, webhook_delivery
from connectors.sandbox.salesforce.state import SalesforceState

State = SalesforceState  # the contract's name for it

__all__ = ["DEMO_TOKEN", "NAME", "SalesforceState", "State", "create_router", "outbound_message",
           "webhook_delivery"]
