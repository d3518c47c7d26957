"""store.db beyond plain selects: transactions are all or nothing, a value the column cannot
hold is the caller's input error, system sessions cross tenants on purpose, and a tenant
session can neither change nor delete a row of another tenant it got hold of."""

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from store.db import Database, async_url
from store.errors import PermissionDenied, SystemFault, ValidationFailed
from store.models import Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Services


@pytest.mark.parametrize(("given", "used"), [
    ("postgres://u:p@db:5432/cx", "postgresql+psycopg://u:p@db:5432/cx"),
    ("postgresql://u@db/cx", "postgresql+psycopg://u@db/cx"),
    ("postgresql+psycopg://u@db/cx", "postgresql+psycopg://u@db/cx"),
    ("postgresql+asyncpg://u@db/cx", "postgresql+asyncpg://u@db/cx"),
])
def test_database_urls_are_driven_by_psycopg_3(given: str, used: str) -> None:
    assert async_url(given) == used


async def _provider_id(services: Services, tenant_id: uuid.UUID) -> int:
    async with services.db.session(tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "hubspot"))
    assert provider is not None
    return provider.id


async def _names(services: Services, tenant_id: uuid.UUID) -> list[str]:
    async with services.db.session(tenant_id) as session:
        return sorted((await session.scalars(select(Integration.name))).all())


async def test_a_transaction_commits_everything_or_nothing(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    provider_id = await _provider_id(services, acme.tenant_id)
    async with services.db.transaction(acme.tenant_id) as session:
        session.add(Integration(provider_id=provider_id, name="kept"))
    assert await _names(services, acme.tenant_id) == ["kept"]

    with pytest.raises(RuntimeError, match="half way"):
        async with services.db.transaction(acme.tenant_id) as session:
            session.add(Integration(provider_id=provider_id, name="first of two"))
            await session.flush()  # written, but not committed
            raise RuntimeError("failed half way")
    assert await _names(services, acme.tenant_id) == ["kept"]


async def test_a_value_too_long_for_its_column_is_a_validation_error(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    provider_id = await _provider_id(services, acme.tenant_id)
    with pytest.raises(ValidationFailed) as info:
        async with services.db.transaction(acme.tenant_id) as session:
            session.add(Integration(provider_id=provider_id, name="ok"))
            session.add(Integration(provider_id=provider_id, name="x" * 101))
    assert info.value.message == (
        "a value does not fit: value too long for type character varying(100)")
    assert await _names(services, acme.tenant_id) == []


async def test_a_system_transaction_sees_and_writes_every_tenant(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    provider_id = await _provider_id(services, acme.tenant_id)
    async with services.db.transaction(None) as session:
        session.add(Integration(tenant_id=acme.tenant_id, provider_id=provider_id, name="a"))
        session.add(Integration(tenant_id=globex.tenant_id, provider_id=provider_id, name="g"))
    async with services.db.transaction(None) as session:
        assert await session.scalar(select(func.count()).select_from(Integration)) == 2
    assert await _names(services, acme.tenant_id) == ["a"]
    assert await _names(services, globex.tenant_id) == ["g"]


async def test_a_session_without_a_tenant_cannot_write_tenant_rows(services: Services,
                                                                   database_url: str) -> None:
    acme, _ = await make_tenant(services, "acme")
    provider_id = await _provider_id(services, acme.tenant_id)
    bare = Database(database_url)
    try:
        async with bare._sessions() as session:
            session.add(Integration(tenant_id=acme.tenant_id, provider_id=provider_id,
                                    name="unscoped"))
            with pytest.raises(SystemFault, match="written in a session without a tenant"):
                await session.flush()
    finally:
        await bare.dispose()
    assert await _names(services, acme.tenant_id) == []


async def _theirs(services: Services) -> tuple[uuid.UUID, Integration]:
    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    provider_id = await _provider_id(services, acme.tenant_id)
    async with services.db.transaction(globex.tenant_id) as session:
        row = Integration(provider_id=provider_id, name="globex hubspot")
        session.add(row)
    return acme.tenant_id, row


async def test_a_tenant_session_cannot_change_another_tenants_row(services: Services) -> None:
    acme_id, theirs = await _theirs(services)
    with pytest.raises(PermissionDenied, match="another tenant"):
        async with services.db.transaction(acme_id) as session:
            mine = await session.merge(theirs, load=False)
            mine.status = "error"
    async with services.db.session(theirs.tenant_id) as session:
        row = await session.get(Integration, theirs.id)
    assert row is not None and row.status == "pending"


async def test_a_tenant_session_cannot_delete_another_tenants_row(services: Services) -> None:
    acme_id, theirs = await _theirs(services)
    with pytest.raises(PermissionDenied, match="another tenant"):
        async with services.db.transaction(acme_id) as session:
            await session.delete(await session.merge(theirs, load=False))
    assert await _names(services, theirs.tenant_id) == ["globex hubspot"]


async def test_aliased_queries_are_scoped_too(services: Services) -> None:
    acme_id, theirs = await _theirs(services)
    other = aliased(Integration)
    async with services.db.session(acme_id) as session:
        found = (await session.scalars(select(other).where(other.id == theirs.id))).all()
    assert found == []


@pytest.mark.parametrize("shape", ["values", "many values", "executemany", "upsert"])
async def test_an_insert_statement_cannot_write_another_tenants_row(
        services: Services, shape: str) -> None:
    """Core INSERT statements (the sync engine's batched upserts) obey the same guard as
    ORM objects: a tenant session writes only its own tenant's rows."""
    from sqlalchemy.dialects.postgresql import insert

    acme, _ = await make_tenant(services, "acme")
    globex, _ = await make_tenant(services, "globex")
    provider_id = await _provider_id(services, acme.tenant_id)

    def row(name: str, tenant: uuid.UUID) -> dict[str, object]:
        return {"id": uuid.uuid4(), "tenant_id": tenant, "provider_id": provider_id,
                "name": name, "status": "pending", "settings": {}, "sync_config": {},
                "health_score": 100, "api_calls_today": 0, "api_calls_limit": 0}

    own, foreign = row("mine", acme.tenant_id), row("theirs", globex.tenant_id)
    statement, params = {
        "values": (insert(Integration).values(**foreign), None),
        "many values": (insert(Integration).values([own, foreign]), None),
        "executemany": (insert(Integration), [own, foreign]),
        "upsert": (insert(Integration).values(**foreign).on_conflict_do_nothing(), None),
    }[shape]
    with pytest.raises(PermissionDenied):
        async with services.db.transaction(acme.tenant_id) as session:
            await session.execute(statement, params)
    async with services.db.system_session() as session:
        names = (await session.scalars(select(Integration.name))).all()
    assert names == []
    async with services.db.transaction(acme.tenant_id) as session:  # its own rows still go in
        await session.execute(insert(Integration).values(**own))
    assert await _names(services, acme.tenant_id) == ["mine"]
