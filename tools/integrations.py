"""Managing integrations: list, create, get, update, delete, test the connection.

Credentials are write-only: accepted on create and update, encrypted at once,
and never returned; a masked hint tells a person which secret is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    MISSING,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
)
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from connectors.egress import EgressRefused, check_public_url, own_sandboxes
from connectors.quota import Priority
from connectors.registry import connector_spec
from jobs.connecting import open_connector
from store.accounts import Caller
from store.crypto import mask
from store.errors import Conflict, ValidationFailed, integration_status_after
from store.models import Integration, IntegrationProvider, Role
from store.queries import MAX_INT, decrypt_credentials, find_provider, load_integration
from tools import paging
from tools.audit import audit
from tools.context import Services, require
from tools.fields import JsonObject, Name, PartialUpdate

HINT_FIELDS = ("api_key", "access_token", "hook_url", "client_id")
URL_SETTINGS = ("sandbox_url", "base_url")


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings that become request URLs must be plain http(s) URLs."""
    for name in URL_SETTINGS:
        value = settings.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.startswith(("http://", "https://")) \
                or any(ch in value for ch in "{} \t\n"):
            raise ValueError(f"settings.{name} must be an http:// or https:// URL")
    return settings


async def check_setting_destinations(services: Services, settings: dict[str, Any]) -> None:
    """The URL settings may not point at private addresses (after DNS), unless the operator
    allows it or the URL is this process's own sandbox; checked again on connecting."""
    for name in URL_SETTINGS:
        if isinstance(settings.get(name), str):
            await check_public_url(settings[name], field=f"settings.{name}",
                                   allow_private=services.settings.allow_private_urls,
                                   allowed=own_sandboxes())


Status = Literal["pending", "active", "inactive", "error", "reconnect_needed"]  # the column's
CallsLimit = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="provider name (hubspot) or id")
    name: Name
    credentials: JsonObject = Field(default_factory=dict, description="write-only")
    settings: JsonObject = Field(default_factory=dict)
    sync_config: JsonObject = Field(default_factory=dict)
    api_calls_limit: CallsLimit = 0

    @field_validator("settings")
    @classmethod
    def _urls(cls, settings: dict[str, Any]) -> dict[str, Any]:
        return check_settings(settings)


class IntegrationUpdate(PartialUpdate):

    name: Name | MISSING = MISSING
    status: Status | MISSING = MISSING
    credentials: JsonObject | MISSING = Field(MISSING, description="write-only; replaces "
                                              "the stored fields it names")
    settings: JsonObject | MISSING = MISSING
    sync_config: JsonObject | MISSING = MISSING
    api_calls_limit: CallsLimit | MISSING = MISSING

    @field_validator("settings")
    @classmethod
    def _urls(cls, settings: dict[str, Any]) -> dict[str, Any]:
        return check_settings(settings)


class IntegrationPublic(BaseModel):
    id: uuid.UUID
    provider: str
    name: str
    status: str
    credential_hint: str | None
    settings: dict[str, Any]
    sync_config: dict[str, Any]
    health_score: int
    health_reasons: list[dict[str, Any]] = Field(
        description="why the score is what it is: input, points lost, reason (docs/health.md)")
    health_checked_at: datetime | None
    api_calls_today: int
    api_calls_limit: int
    last_sync_at: datetime | None
    last_error: str | None
    webhook_path: str = Field(description="where this provider should deliver webhooks "
                              "(Mailchimp and Salesforce: add ?secret= / ?token= with your "
                              "webhook_secret)")
    created_at: datetime
    updated_at: datetime


class ConnectionReport(BaseModel):
    ok: bool
    message: str
    action: str | None
    latency_ms: float | None
    status: str
    details: dict[str, Any]


def to_public(row: Integration, provider: str) -> IntegrationPublic:
    return IntegrationPublic(
        id=row.id, provider=provider, name=row.name, status=row.status,
        credential_hint=row.credential_hint, settings=row.settings, sync_config=row.sync_config,
        health_score=row.health_score, health_reasons=row.health_reasons or [],
        health_checked_at=row.health_checked_at, api_calls_today=row.api_calls_today,
        api_calls_limit=row.api_calls_limit, last_sync_at=row.last_sync_at,
        last_error=row.last_error, webhook_path=f"/integrations/webhooks/{row.id}/",
        created_at=row.created_at, updated_at=row.updated_at)


def credential_hint_for(credentials: dict[str, Any]) -> str | None:
    for name in HINT_FIELDS:
        if credentials.get(name):
            return f"{name}: {mask(str(credentials[name]))}"
    return None


def _check_credentials(spec: Any, credentials: dict[str, Any]) -> None:
    """An OAuth integration may start without tokens (the consent flow brings them). Where
    an API key is the usual credential and OAuth the alternative (Mailchimp), that holds
    only once the OAuth app's client_id is given; otherwise the missing key is named."""
    if spec.auth.oauth is not None and not credentials.get("access_token") and (
            spec.auth.kind != "api_key" or credentials.get("client_id")):
        return
    spec.auth.validate(credentials)


def _integrations(provider: str | None, status: str | None) -> Select[Integration, str]:
    query = (select(Integration, IntegrationProvider.name)
             .join(IntegrationProvider, IntegrationProvider.id == Integration.provider_id))
    if provider:
        query = query.where(IntegrationProvider.name == provider.lower())
    if status:
        query = query.where(Integration.status == status)
    return query


async def list_integrations(services: Services, caller: Caller, provider: str | None = None,
                            status: str | None = None) -> list[IntegrationPublic]:
    """The tenant's integrations, optionally one provider or one status."""
    query = _integrations(provider, status).order_by(Integration.created_at)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.execute(query)).all()
    return [to_public(row, name) for row, name in rows]


async def integrations_page(services: Services, caller: Caller, provider: str | None = None,
                            status: str | None = None, cursor: str | None = None,
                            limit: int = paging.DEFAULT_LIMIT) -> paging.Page[IntegrationPublic]:
    """One page of them, oldest first, as REST lists them."""
    query = paging.keyset(_integrations(provider, status), Integration.created_at,
                          Integration.id, cursor, limit, oldest_first=True)
    async with services.db.session(caller.tenant_id) as session:
        rows = (await session.execute(query)).all()
    return paging.Page[IntegrationPublic](
        items=[to_public(row, name) for row, name in rows[:limit]],
        next_cursor=paging.next_cursor([row for row, _ in rows], limit))


async def get_integration(services: Services, caller: Caller,
                          integration_id: uuid.UUID) -> IntegrationPublic:
    async with services.db.session(caller.tenant_id) as session:
        row, provider = await load_integration(session, integration_id)
    return to_public(row, provider)


async def create_integration(services: Services, caller: Caller,
                             data: IntegrationCreate) -> IntegrationPublic:
    require(caller, Role.admin, "connecting an integration")
    await check_setting_destinations(services, data.settings)
    async with services.db.transaction(caller.tenant_id) as session:
        provider = await find_provider(session, data.provider)
        if provider is None:
            raise ValidationFailed(f"unknown provider {data.provider!r}; see GET "
                                   "/integrations/providers/", field="provider")
        spec = connector_spec(provider.name)
        if spec is None:
            raise ValidationFailed(f"{provider.name} has no connector yet", field="provider")
        _check_credentials(spec, data.credentials)
        row = Integration(
            tenant_id=caller.tenant_id, provider_id=provider.id, name=data.name,
            status="pending", settings=data.settings, sync_config=data.sync_config,
            api_calls_limit=data.api_calls_limit,
            auth_credentials=services.vault.encrypt(data.credentials)
            if data.credentials else None,
            credential_hint=credential_hint_for(data.credentials))
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"an integration named {data.name!r} already exists") from None
        audit(session, caller, "integration.create", "integration", row.id,
              provider=provider.name, name=data.name)
        return to_public(row, provider.name)


async def update_integration(services: Services, caller: Caller, integration_id: uuid.UUID,
                             data: IntegrationUpdate) -> IntegrationPublic:
    require(caller, Role.admin, "changing an integration")
    if data.settings is not MISSING:
        await check_setting_destinations(services, data.settings)
    async with services.db.transaction(caller.tenant_id) as session:
        row, provider = await load_integration(session, integration_id)
        changed = data.model_dump(exclude_unset=True, exclude={"credentials"})
        for name, value in changed.items():
            setattr(row, name, value)
        if data.credentials is not MISSING:
            merged = {**decrypt_credentials(services.vault, row), **data.credentials}
            spec = connector_spec(provider)
            if spec is not None:
                _check_credentials(spec, merged)
            row.auth_credentials = services.vault.encrypt(merged)
            row.credential_hint = credential_hint_for(merged)
            changed["credentials"] = sorted(data.credentials)  # which fields, never values
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"an integration named {data.name!r} already exists") from None
        audit(session, caller, "integration.update", "integration", row.id,
              changed=sorted(changed))
        await session.refresh(row)
        return to_public(row, provider)


async def delete_integration(services: Services, caller: Caller,
                             integration_id: uuid.UUID) -> None:
    require(caller, Role.admin, "deleting an integration")
    async with services.db.transaction(caller.tenant_id) as session:
        row, provider = await load_integration(session, integration_id)
        audit(session, caller, "integration.delete", "integration", row.id,
              provider=provider, name=row.name)
        await session.delete(row)


async def test_connection(services: Services, caller: Caller,
                          integration_id: uuid.UUID) -> ConnectionReport:
    """One cheap authenticated call to the provider and a result a person can act on."""
    require(caller, Role.member, "testing a connection")
    async with services.db.session(caller.tenant_id) as session:
        row, provider = await load_integration(session, integration_id)
    try:
        async with open_connector(services.db, services.vault, services.queue, row,
                                  provider, priority=Priority.chat, max_wait_s=10,
                                  allow_private=services.settings.allow_private_urls
                                  ) as connector:
            result = await connector.test_connection()
    except EgressRefused as refused:  # before "not connected": the URL is there, but private
        return ConnectionReport(ok=False, message=refused.message, action=(
            "Point the integration at the provider's public address, or, for a private "
            "mock in staging, start Connectus with CONNECTUS_ALLOW_PRIVATE_URLS=true."),
            latency_ms=None, status=row.status, details={"category": "config"})
    except ValidationFailed as missing:  # no tokens yet, or a setting the URL needs
        spec = connector_spec(provider)
        how = (f"finish connecting with POST /integrations/integrations/{row.id}/oauth/"
               "connect/" if spec and spec.auth.oauth else
               f"add it with PATCH /integrations/integrations/{row.id}/")
        return ConnectionReport(ok=False, message=f"{provider} is not connected yet: "
                              f"{missing.message}", action=f"Provide it: {how}",
                              latency_ms=None, status=row.status,
                              details={"category": "not_connected"})
    status = integration_status_after(result.error, row.status)
    async with services.db.transaction(caller.tenant_id) as session:
        row, _ = await load_integration(session, integration_id)
        row.status = status
        row.last_error = None if result.ok else result.message
        audit(session, caller, "integration.test_connection", "integration", row.id,
              ok=result.ok)
    return ConnectionReport(ok=result.ok, message=result.message, action=result.action,
                          latency_ms=result.latency_ms, status=status,
                          details=result.details)
