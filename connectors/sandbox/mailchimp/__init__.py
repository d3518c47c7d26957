"""The Mailchimp simulator: Marketing API v3 audiences and members, OAuth and list webhooks."""

from connectors.sandbox.mailchimp.routes import DEMO_TOKEN, NAME, create_router, webhook_delivery
from connectors.sandbox.mailchimp.state import MailchimpState

State = MailchimpState  # the contract's name for it

__all__ = ["DEMO_TOKEN", "NAME", "MailchimpState", "State", "create_router", "webhook_delivery"]
