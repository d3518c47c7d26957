"""One tenant never sees, changes or deletes another tenant's rows."""

import pytest
from sqlalchemy import delete, func, select, update

from store.errors import PermissionDenied, SystemFault
from store.models import Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Services


async def _integration(services: Services, tenant_id, name: str) -> Integration:
    async with services.db.transaction(tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "hubspot"))
        row = Integration(provider_id=provider.id, name=name)
        session.add(row)
    return row


async def test_queries_only_return_the_sessions_tenant(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    mine = await _integration(services, acme.tenant_id, "acme hubspot")
    theirs = await _integration(services, globex.tenant_id, "globex hubspot")
    assert mine.tenant_id == acme.tenant_id  # stamped from the session

    async with services.db.session(acme.tenant_id) as session:
        names = (await session.scalars(select(Integration.name))).all()
        by_id = await session.get(Integration, theirs.id)
        count = await session.scalar(select(func.count()).select_from(Integration))
        unfiltered_where = (await session.scalars(
            select(Integration).where(Integration.tenant_id == globex.tenant_id))).all()
    assert names == ["acme hubspot"]
    assert by_id is None
    assert count == 1
    assert unfiltered_where == []


async def test_bulk_update_and_delete_cannot_reach_another_tenant(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    await _integration(services, acme.tenant_id, "acme hubspot")
    theirs = await _integration(services, globex.tenant_id, "globex hubspot")

    async with services.db.transaction(acme.tenant_id) as session:
        await session.execute(update(Integration).values(status="error"))
        await session.execute(delete(Integration).where(Integration.id == theirs.id))

    async with services.db.session(globex.tenant_id) as session:
        survivor = await session.get(Integration, theirs.id)
    assert survivor is not None and survivor.status == "pending"


async def test_writing_another_tenants_row_is_refused(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    with pytest.raises(PermissionDenied):
        async with services.db.transaction(acme.tenant_id) as session:
            provider = await session.scalar(select(IntegrationProvider).limit(1))
            session.add(Integration(tenant_id=globex.tenant_id, provider_id=provider.id,
                                    name="smuggled"))
    async with services.db.session(globex.tenant_id) as session:
        assert (await session.scalars(select(Integration))).all() == []


async def test_a_session_without_tenant_refuses_tenant_queries(services: Services) -> None:
    async with services.db._sessions() as session:
        with pytest.raises(SystemFault, match="without a tenant"):
            await session.execute(select(Integration))
        # the shared catalogue is not tenant data and stays readable
        assert (await session.scalars(select(IntegrationProvider))).all()
