"""The integration operations themselves: the contract REST and the agent both call."""

from __future__ import annotations

import uuid
from typing import get_args

import pytest
from pydantic import ValidationError

from store.accounts import Caller, create_user
from store.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from store.models import Role
from store.models.integrations import INTEGRATION_STATUSES
from tests.conftest import make_tenant
from tools.context import Services
from tools.integrations import (
    IntegrationCreate,
    IntegrationUpdate,
    Status,
    create_integration,
    delete_integration,
    get_integration,
    list_integrations,
    update_integration,
)


def _new(**over) -> IntegrationCreate:
    return IntegrationCreate(**{"provider": "hubspot", "name": "CRM",
                                "credentials": {"access_token": "tok-123456789"}, **over})


async def test_create_list_get_update_delete(services: Services, tenant) -> None:
    caller, _ = tenant
    created = await create_integration(services, caller, _new())
    assert (created.provider, created.status) == ("hubspot", "pending")
    assert created.credential_hint == "access_token: tok…6789"
    assert [i.id for i in await list_integrations(services, caller)] == [created.id]
    assert await list_integrations(services, caller, provider="SLACK") == []
    assert [i.id for i in await list_integrations(services, caller, status="pending")] == \
        [created.id]
    assert (await get_integration(services, caller, created.id)).name == "CRM"

    updated = await update_integration(services, caller, created.id,
                                       IntegrationUpdate(name="Sales CRM", api_calls_limit=5))
    assert (updated.name, updated.api_calls_limit) == ("Sales CRM", 5)
    assert updated.settings == {}  # what was left out is kept

    await delete_integration(services, caller, created.id)
    with pytest.raises(NotFound):
        await get_integration(services, caller, created.id)


async def test_provider_by_id_or_name_and_unknown_ones(services: Services, tenant) -> None:
    caller, _ = tenant
    assert (await create_integration(services, caller, _new(provider="1"))).provider == \
        "hubspot"
    for ref in ("myspace", "²", "\u0661", "99999999999", "hubspot\x00"):
        with pytest.raises(ValidationFailed) as refused:
            await create_integration(services, caller, _new(provider=ref, name=f"x{ref!r}"))
        assert refused.value.details[0]["field"] == "provider"


async def test_a_duplicate_name_is_a_conflict(services: Services, tenant) -> None:
    caller, _ = tenant
    await create_integration(services, caller, _new())
    with pytest.raises(Conflict):
        await create_integration(services, caller, _new())


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_writes_need_the_admin_role(services: Services, role: Role) -> None:
    owner, _ = await make_tenant(services, "acme")
    created = await create_integration(services, owner, _new())
    async with services.db.transaction(None) as session:
        user = await create_user(session, owner.tenant_id, f"{role.value}@acme.example", role)
    weak = Caller(tenant_id=owner.tenant_id, user_id=user.id, role=role, email=user.email)
    assert [i.id for i in await list_integrations(services, weak)] == [created.id]  # reads ok
    with pytest.raises(PermissionDenied):
        await create_integration(services, weak, _new(name="Other"))
    with pytest.raises(PermissionDenied):
        await update_integration(services, weak, created.id, IntegrationUpdate(name="x"))
    with pytest.raises(PermissionDenied):
        await delete_integration(services, weak, created.id)


async def test_another_tenants_integration_is_not_found(services: Services, tenant) -> None:
    caller, _ = tenant
    other, _ = await make_tenant(services, "globex")
    created = await create_integration(services, caller, _new())
    assert await list_integrations(services, other) == []
    with pytest.raises(NotFound):
        await get_integration(services, other, created.id)
    with pytest.raises(NotFound):
        await update_integration(services, other, created.id, IntegrationUpdate(name="mine"))
    with pytest.raises(NotFound):
        await delete_integration(services, other, created.id)
    with pytest.raises(NotFound):
        await get_integration(services, caller, uuid.uuid4())
    assert (await get_integration(services, caller, created.id)).name == "CRM"  # untouched


def test_the_status_type_is_the_columns_vocabulary() -> None:
    assert set(get_args(Status)) == set(INTEGRATION_STATUSES)


def test_the_models_refuse_what_rest_refuses() -> None:
    for bad in ({"name": "  "}, {"name": "a\x07"}, {"api_calls_limit": True},
                {"settings": None}, {"status": "sleeping"}):
        with pytest.raises(ValidationError):
            IntegrationUpdate.model_validate(bad)
    assert _new(name="  CRM ").name == "CRM"
    with pytest.raises(ValidationError):
        _new(settings={"blob": "x" * 70_000})
