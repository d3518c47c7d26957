"""The provider operations: the catalogue as the agent and REST both see it."""

from __future__ import annotations

import pytest

from connectors.registry import connector_spec
from store.errors import NotFound
from tools.context import Services
from tools.providers import get_provider, list_categories, list_providers, provider_capabilities


async def test_providers_by_id_or_name(services: Services, tenant) -> None:
    caller, _ = tenant
    names = [p.name for p in await list_providers(services, caller)]
    assert len(names) == 7 and names[0] == "hubspot"
    assert (await get_provider(services, caller, "3")).name == names[2]
    assert (await get_provider(services, caller, "MailChimp")).name == "mailchimp"
    categories = await list_categories(services, caller)
    assert categories[0].name == "advertising"


@pytest.mark.parametrize("ref", ["myspace", "0", "2147483648", "999999999999999999999", "²",
                                 "\u0661", "hubspot\x00", "", "x" * 500])
async def test_unknown_providers_are_not_found(services: Services, tenant, ref: str) -> None:
    caller, _ = tenant
    with pytest.raises(NotFound):
        await get_provider(services, caller, ref)
    with pytest.raises(NotFound):
        await provider_capabilities(services, caller, ref)


async def test_capabilities_follow_the_spec(services: Services, tenant) -> None:
    caller, _ = tenant
    caps = await provider_capabilities(services, caller, "hubspot")
    spec = connector_spec("hubspot")
    assert spec is not None
    assert [s["name"] for s in caps.streams] == [s.name for s in spec.streams]
    assert caps.rate_limits["requests"] == spec.rate_limit.requests
