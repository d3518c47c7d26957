"""The provider catalogue follows the connectors: a connector module without a
catalogue row gets one on start, built from its description.

The first migration seeds the seven providers the product ships with; an
eighth provider needs only its connector module (and a simulator): no
migration, no other file. Existing rows are left as they are, so an operator's
edits and later migrations stay authoritative.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connectors.registry import connector_names, connector_spec
from connectors.spec import ConnectorSpec
from store.models import IntegrationProvider
from tools.context import Services


def catalogue_row(spec: ConnectorSpec) -> dict[str, Any]:
    oauth = spec.auth.oauth
    limit = spec.rate_limit
    return {
        "name": spec.name,
        "display_name": spec.display_name or spec.name.replace("_", " ").title(),
        "category": spec.category,
        "description": spec.description,
        "auth_type": spec.auth.kind,
        "oauth_config": {"authorize_url": oauth.authorize_url, "token_url": oauth.token_url,
                         "scopes": list(oauth.scopes), "pkce": oauth.pkce,
                         "refresh_tokens": oauth.refresh} if oauth else {},
        "api_endpoints": {"base_url": spec.base_url,
                          **{stream.name: stream.path for stream in spec.streams}},
        "rate_limits": {k: v for k, v in {
            "requests": limit.requests, "per_seconds": limit.per_seconds if limit.requests
            else None, "daily": limit.daily, "concurrent_connections": limit.concurrency,
        }.items() if v is not None},
        "webhook_support": spec.webhooks is not None,
        "webhook_events": list(spec.webhook_events),
    }


async def sync_catalogue(services: Services) -> list[str]:
    """Add a catalogue row for every connector that has none; returns the names added."""
    async with services.db.transaction(None) as session:
        known = set(await session.scalars(select(IntegrationProvider.name)))
        added = []
        for name in connector_names():
            spec = connector_spec(name)
            if spec is None or name in known:
                continue
            session.add(IntegrationProvider(**catalogue_row(spec)))
            added.append(name)
    return added
