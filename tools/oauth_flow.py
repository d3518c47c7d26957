"""Connecting an OAuth integration: the consent URL, then the callback that finishes it.

The ``state`` parameter is an encrypted, expiring token (the same MultiFernet
keys as credentials) holding tenant, user, integration, redirect URI and the
PKCE verifier. The callback arrives from the person's browser without an API
key; the state is what binds it to them, and it cannot be forged or replayed
after it expires.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from connectors import oauth
from connectors.egress import check_public_url, own_sandboxes
from connectors.registry import connector_spec
from store.accounts import Caller
from store.errors import NotFound, SecretError, ValidationFailed
from store.models import Integration, Role, User
from store.queries import decrypt_credentials, load_integration
from tools.audit import audit
from tools.context import Services, require
from tools.integrations import IntegrationPublic, credential_hint_for, to_public

STATE_TTL_S = 600


class ConnectRequest(BaseModel):
    redirect_uri: str = Field(description="where the provider sends the person back: "
                              "this server's /integrations/oauth/callback/")


class ConnectStart(BaseModel):
    authorize_url: str
    expires_in: int


async def start_connect(services: Services, caller: Caller, integration_id: uuid.UUID,
                        redirect_uri: str) -> ConnectStart:
    require(caller, Role.admin, "connecting an integration")
    async with services.db.session(caller.tenant_id) as session:
        row, provider = await load_integration(session, integration_id)
    spec = connector_spec(provider)
    if spec is None or spec.auth.oauth is None:
        raise ValidationFailed(f"{provider} does not connect through OAuth")
    credentials = decrypt_credentials(services.vault, row)
    if not credentials.get("client_id") or not credentials.get("client_secret"):
        raise ValidationFailed("set your OAuth app's client_id and client_secret first",
                               field="credentials.client_id")
    authorize, _ = oauth.oauth_urls(spec.auth.oauth, row.settings.get("sandbox_url"),
                                    spec.sandbox_oauth)
    verifier = oauth.new_verifier() if spec.auth.oauth.pkce else None
    state = services.vault.encrypt({
        "tenant": str(caller.tenant_id), "user": str(caller.user_id),
        "integration": str(row.id), "verifier": verifier, "redirect_uri": redirect_uri,
        "nonce": oauth.new_state_nonce(), "exp": time.time() + STATE_TTL_S})
    url = oauth.authorize_url(spec.auth.oauth, authorize, credentials["client_id"],
                              redirect_uri, state, verifier)
    return ConnectStart(authorize_url=url, expires_in=STATE_TTL_S)


async def finish_connect(services: Services, code: str, state: str) -> IntegrationPublic:
    try:
        flow: dict[str, Any] = services.vault.decrypt(state)
    except SecretError:
        raise ValidationFailed("the OAuth state is not one Connectus issued",
                               field="state") from None
    if flow.get("exp", 0) < time.time():
        raise ValidationFailed("the OAuth state expired; start connecting again", field="state")
    tenant_id = uuid.UUID(flow["tenant"])
    caller_user = uuid.UUID(flow["user"])
    async with services.db.session(tenant_id) as session:
        row, provider = await load_integration(session, uuid.UUID(flow["integration"]))
    spec = connector_spec(provider)
    assert spec is not None and spec.auth.oauth is not None
    credentials = decrypt_credentials(services.vault, row)
    _, token_url = oauth.oauth_urls(spec.auth.oauth, row.settings.get("sandbox_url"),
                                    spec.sandbox_oauth)
    # the exchange carries the client secret: the same egress rule as every connector call
    await check_public_url(token_url, field="settings.sandbox_url" if row.settings.get(
        "sandbox_url") else f"the {provider} token URL",
        allow_private=services.settings.allow_private_urls, allowed=own_sandboxes())
    tokens = await oauth.exchange(spec.auth.oauth, token_url, credentials["client_id"],
                                  credentials["client_secret"], flow["redirect_uri"], code,
                                  flow.get("verifier"), provider)
    merged = {**credentials, **tokens}
    async with services.db.transaction(tenant_id) as session:
        current = await session.scalar(select(Integration).where(Integration.id == row.id))
        if current is None:
            raise NotFound("the integration was deleted while connecting")
        row = current
        row.auth_credentials = services.vault.encrypt(merged)
        row.credential_hint = credential_hint_for(merged)
        row.status = "active"
        row.last_error = None
        user = await session.get(User, caller_user)
        caller = Caller(tenant_id=tenant_id, user_id=caller_user,
                        role=user.role if user else Role.viewer)
        audit(session, caller, "integration.oauth_connected", "integration", row.id,
              provider=provider)
        await session.flush()
        await session.refresh(row)
        return to_public(row, provider)
