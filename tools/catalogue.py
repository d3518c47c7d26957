"""The provider catalogue follows the connectors: one source of truth, the spec.

What a connector spec says (auth kind, OAuth endpoints, scopes and PKCE, rate
limits, webhook support, endpoints) is what the catalogue shows: the REST
providers API overlays it on every row it serves, and ``sync_catalogue``
writes it into the rows on start, so the table agrees too. The frozen
migration data supplies only what a spec cannot say (and the webhook event
list, while a spec leaves ``webhook_events`` empty). A connector module
without a row gets one on start, built from its description: an eighth
provider needs only its connector module (and a simulator).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connectors.registry import connector_names, connector_spec
from connectors.spec import ConnectorSpec, RateLimit
from store.models import IntegrationProvider
from tools.context import Services


def documented_limits(limit: RateLimit) -> dict[str, Any]:
    """The general limits a spec documents, as the catalogue shows them."""
    return {k: v for k, v in {
        "requests": limit.requests,
        "per_seconds": limit.per_seconds if limit.requests else None,
        "daily": limit.daily,
        "concurrent_connections": limit.concurrency,
    }.items() if v is not None}


def spec_fields(spec: ConnectorSpec) -> dict[str, Any]:
    """The catalogue columns the spec decides."""
    oauth = spec.auth.oauth
    fields: dict[str, Any] = {
        "auth_type": spec.auth.kind,
        "oauth_config": {"authorize_url": oauth.authorize_url, "token_url": oauth.token_url,
                         "scopes": list(oauth.scopes), "pkce": oauth.pkce,
                         "refresh_tokens": oauth.refresh} if oauth else {},
        "api_endpoints": {"base_url": spec.base_url,
                          **{stream.name: stream.path for stream in spec.streams},
                          **{write.name: write.path for write in spec.writes}},
        "rate_limits": documented_limits(spec.rate_limit),
        "webhook_support": spec.webhooks is not None,
    }
    if spec.webhook_events:
        fields["webhook_events"] = list(spec.webhook_events)
    return fields


def catalogue_row(spec: ConnectorSpec) -> dict[str, Any]:
    """A whole row for a provider the migrations did not seed."""
    return {
        "name": spec.name,
        "display_name": spec.display_name or spec.name.replace("_", " ").title(),
        "category": spec.category,
        "description": spec.description,
        "webhook_events": list(spec.webhook_events),
        **spec_fields(spec),
    }


def provider_view(row: IntegrationProvider) -> dict[str, Any]:
    """A catalogue row as served: its columns, with the spec's word where it has one."""
    columns = {column.key: getattr(row, column.key)
               for column in IntegrationProvider.__table__.columns}
    spec = connector_spec(row.name)
    return {**columns, **spec_fields(spec)} if spec is not None else columns


async def sync_catalogue(services: Services) -> list[str]:
    """Add a row for every connector that has none and bring the spec's columns of the
    others up to date; returns the names added."""
    async with services.db.transaction(None) as session:
        rows = {row.name: row for row in await session.scalars(select(IntegrationProvider))}
        added = []
        for name in connector_names():
            spec = connector_spec(name)
            if spec is None:
                continue
            if name not in rows:
                session.add(IntegrationProvider(**catalogue_row(spec)))
                added.append(name)
                continue
            for column, value in spec_fields(spec).items():
                if getattr(rows[name], column) != value:
                    setattr(rows[name], column, value)
    return added
