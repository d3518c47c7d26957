"""The queries every layer shares about integrations and providers, written once.

Tools, jobs and the webhook door all need "this integration, its provider's
name, its credentials in the clear" and "the provider this id or name means";
they call these instead of re-deriving the joins and the "no credentials yet"
case. Tenancy is not handled here: the session's tenant filter does that.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.crypto import SecretBox
from store.errors import NotFound
from store.models import DataFlow, Integration, IntegrationProvider, SyncRun

MAX_INT = 2_147_483_647  # a PostgreSQL integer column
NAME_LENGTH = 100  # integration_providers.name


def provider_id(ref: str) -> int | None:
    """The id ``ref`` spells, or None when it is a name. Only ASCII digits are an id:
    ``str.isdigit`` also accepts "²" and Arabic-Indic digits, which ``int`` refuses or
    reads as ASCII ones."""
    if ref.isascii() and ref.isdigit():
        return int(ref)
    return None


async def find_provider(session: AsyncSession, ref: str) -> IntegrationProvider | None:
    """A provider by id (``"3"``) or name (``"mailchimp"``, any case); None when unknown,
    including ids outside the column's range and names no row could hold."""
    number = provider_id(ref)
    if number is not None:
        if not 1 <= number <= MAX_INT:
            return None
        return await session.get(IntegrationProvider, number)
    name = ref.lower()
    if not name or len(name) > NAME_LENGTH or not name.isprintable():
        return None
    found: IntegrationProvider | None = await session.scalar(
        select(IntegrationProvider).where(IntegrationProvider.name == name))
    return found


async def find_integration(session: AsyncSession,
                           integration_id: uuid.UUID) -> tuple[Integration, str] | None:
    """The integration and its provider's name, or None when this session cannot see it."""
    found = (await session.execute(
        select(Integration, IntegrationProvider.name)
        .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id)
        .where(Integration.id == integration_id))).first()
    return None if found is None else (found[0], found[1])


async def load_integration(session: AsyncSession,
                           integration_id: uuid.UUID) -> tuple[Integration, str]:
    """Like ``find_integration``; raises NotFound (another tenant's is not found either)."""
    found = await find_integration(session, integration_id)
    if found is None:
        raise NotFound(f"no integration {integration_id}")
    return found


def decrypt_credentials(vault: SecretBox, row: Integration) -> dict[str, Any]:
    """The integration's credentials in the clear; ``{}`` before any were given."""
    return vault.decrypt(row.auth_credentials) if row.auth_credentials else {}


# -- data flows (issue 7, configuration) -----------------------------------------------


async def load_data_flow(session: AsyncSession, flow_id: uuid.UUID) -> DataFlow:
    """The flow, or NotFound (another tenant's is not found either)."""
    found = await session.get(DataFlow, flow_id)
    if found is None:
        raise NotFound(f"no data flow {flow_id}")
    return found


async def last_runs(session: AsyncSession,
                    flows: list[DataFlow]) -> dict[uuid.UUID, SyncRun]:
    """Each flow's last run by ``last_run_id``, in one query."""
    ids = [flow.last_run_id for flow in flows if flow.last_run_id is not None]
    if not ids:
        return {}
    runs = (await session.scalars(select(SyncRun).where(SyncRun.id.in_(ids)))).all()
    return {run.id: run for run in runs}
