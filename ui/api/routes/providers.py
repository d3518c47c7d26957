"""GET /integrations/providers/... : the catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from tools import providers
from ui.api.deps import CallerDep, ServicesDep
from ui.api.errors import errors

router = APIRouter(prefix="/integrations/providers", tags=["providers"],
                   responses=errors(401, 422))


@router.get("/", response_model=list[providers.ProviderPublic])
async def list_providers(services: ServicesDep, caller: CallerDep,
                         category: str | None = None) -> list[providers.ProviderPublic]:
    return await providers.list_providers(services, caller, category)


@router.get("/categories/", response_model=list[providers.Category])
async def categories(services: ServicesDep, caller: CallerDep) -> list[providers.Category]:
    return await providers.list_categories(services, caller)


@router.get("/{provider}/", response_model=providers.ProviderPublic, responses=errors(404))
async def get_provider(services: ServicesDep, caller: CallerDep,
                       provider: str) -> providers.ProviderPublic:
    return await providers.get_provider(services, caller, provider)


@router.get("/{provider}/capabilities/", response_model=providers.Capabilities,
            responses=errors(404))
async def capabilities(services: ServicesDep, caller: CallerDep,
                       provider: str) -> providers.Capabilities:
    return await providers.provider_capabilities(services, caller, provider)
