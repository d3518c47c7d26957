"""The provider catalogue: list, one provider, its capabilities, the categories."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from store.accounts import Caller
from store.errors import NotFound
from store.models import IntegrationProvider
from store.queries import find_provider
from tools.catalogue import provider_view
from tools.context import Services


class ProviderPublic(BaseModel):
    id: int
    name: str
    display_name: str
    category: str
    description: str
    auth_type: str
    oauth_config: dict[str, Any]
    api_endpoints: dict[str, Any]
    rate_limits: dict[str, Any]
    webhook_support: bool
    webhook_events: list[str]


class Category(BaseModel):
    name: str
    providers: list[str]


class Capabilities(BaseModel):
    provider: str
    auth_type: str
    streams: list[dict[str, Any]]
    writes: list[dict[str, Any]]
    webhook_events: list[str]
    rate_limits: dict[str, Any]


async def list_providers(services: Services, caller: Caller,
                         category: str | None = None) -> list[ProviderPublic]:
    """Every provider Connectus can connect to, optionally one category."""
    query = select(IntegrationProvider).order_by(IntegrationProvider.id)
    if category:
        query = query.where(IntegrationProvider.category == category)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.scalars(query)).all()
    return [ProviderPublic.model_validate(provider_view(row)) for row in rows]


async def get_provider(services: Services, caller: Caller, provider: str) -> ProviderPublic:
    """One provider by id (``3``) or name (``mailchimp``)."""
    async with services.db.session(caller.tenant_id) as session:
        row = await find_provider(session, provider)
    if row is None:
        raise NotFound(f"no provider {provider!r}; see GET /integrations/providers/")
    return ProviderPublic.model_validate(provider_view(row))


async def list_categories(services: Services, caller: Caller) -> list[Category]:
    providers = await list_providers(services, caller)
    categories: dict[str, list[str]] = {}
    for provider in providers:
        categories.setdefault(provider.category, []).append(provider.name)
    return [Category(name=name, providers=names) for name, names in sorted(categories.items())]


async def provider_capabilities(services: Services, caller: Caller,
                                provider: str) -> Capabilities:
    """What a provider can do here: streams to read, batch writes, webhook events, auth."""
    from connectors.registry import connector_spec

    row = await get_provider(services, caller, provider)
    spec = connector_spec(row.name)
    return Capabilities(
        provider=row.name,
        auth_type=row.auth_type,
        streams=[stream.describe() for stream in spec.streams] if spec else [],
        writes=[write.describe() for write in spec.writes] if spec else [],
        webhook_events=row.webhook_events,
        rate_limits=row.rate_limits,
    )
