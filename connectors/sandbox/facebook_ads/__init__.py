"""The Facebook Ads simulator: Marketing API Graph reads, insights, OAuth and lead webhooks."""

from connectors.sandbox.facebook_ads.routes import (
    DEMO_TOKEN,
    NAME,
    appsecret_proof,
    create_router,
    handshake_params,
    limits,
    sign,
    webhook_delivery,
)
from connectors.sandbox.facebook_ads.state import FacebookAdsState

State = FacebookAdsState  # the contract's name for it

__all__ = [
    "DEMO_TOKEN",
    "NAME",
    "FacebookAdsState",
    "State",
    "appsecret_proof",
    "create_router",
    "handshake_params",
    "limits",
    "sign",
    "webhook_delivery",
]
