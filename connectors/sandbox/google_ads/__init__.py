"""The Google Ads simulator: API v18-v26 search and mutate, Google OAuth, lead-form webhooks."""

from connectors.sandbox.google_ads.routes import (
    DEMO_TOKEN,
    NAME,
    SCOPE,
    create_router,
    google_key_matches,
    quota,
    webhook_delivery,
)
from connectors.sandbox.google_ads.state import GoogleAdsState

State = GoogleAdsState  # the contract's name for it

__all__ = [
    "DEMO_TOKEN",
    "NAME",
    "SCOPE",
    "GoogleAdsState",
    "State",
    "create_router",
    "google_key_matches",
    "quota",
    "webhook_delivery",
]
