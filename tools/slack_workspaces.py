"""Which tenant a Slack workspace is, and which Connectus user a Slack user is.

A workspace (Slack's team) belongs to the tenant whose Slack integration's token it
is: the team id that ``auth.test`` gives for that token is kept in the integration's
settings (``slack_team_id``, with the bot's ids), learned the first time an event of
an unknown team arrives. A Slack user is the tenant's user with the same e-mail (from
``users.info``, scope ``users:read.email``); anyone else is a viewer of their own,
``<slack user>@<team>.slack.invalid``, made on first contact, whom an owner may
promote. These lookups cross tenants on purpose, as API-key lookup does: a signed
event names only its team.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert

from connectors.egress import check_public_url, own_sandboxes
from connectors.registry import connector_spec
from store.models import Integration, IntegrationProvider, Role, User
from store.queries import decrypt_credentials
from tools.context import Caller, Services

PROVIDER = "slack"
TEAM_SETTING = "slack_team_id"
SHADOW_DOMAIN = "slack.invalid"


def sandbox_signing_secret() -> str:
    """The signing secret the Slack simulator signs with, for `connectus up`'s demo."""
    spec = connector_spec(PROVIDER)
    assert spec is not None and spec.sandbox_demo
    return str(spec.sandbox_demo["credentials"]["webhook_secret"])


def point_sandbox_slack_at(sandbox: Any, events_url: str) -> None:
    """Make the simulator deliver its Slack events (and button presses) to ``events_url``,
    as a Slack app's Request URL does; ``sandbox`` is the simulators' app."""
    from connectors.sandbox.slack import SlackState

    sandbox.state.sandboxes[PROVIDER].state_as(SlackState).request_url = events_url


@dataclass(frozen=True)
class Workspace:
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    team_id: str  # "" until learned
    api_url: str  # where its Web API is, ending in "/"
    bot_user_id: str | None = None
    bot_id: str | None = None
    token: str = field(default="", repr=False)  # decrypted in this process only


async def _workspace(services: Services, row: Integration) -> Workspace | None:
    token = decrypt_credentials(services.vault, row).get("access_token")
    if not token:
        return None
    spec = connector_spec(PROVIDER)
    assert spec is not None
    sandbox = row.settings.get("sandbox_url")
    url = str(row.settings.get("base_url") or (
        str(sandbox).rstrip("/") + spec.sandbox_base if sandbox else spec.base_url))
    await check_public_url(url, field="settings.base_url",
                           allow_private=services.settings.allow_private_urls,
                           allowed=own_sandboxes())
    return Workspace(tenant_id=row.tenant_id, integration_id=row.id,
                     team_id=str(row.settings.get(TEAM_SETTING) or ""),
                     api_url=url.rstrip("/") + "/", token=str(token),
                     bot_user_id=row.settings.get("slack_bot_user_id"),
                     bot_id=row.settings.get("slack_bot_id"))


def _slack_integrations() -> Select[Any]:
    """Slack integrations the bot answers for: not a paused one ("inactive"), whose admin
    asked Connectus to stop using it; one in error still answers (its token may work)."""
    return (select(Integration).join(IntegrationProvider,
                                     IntegrationProvider.id == Integration.provider_id)
            .where(IntegrationProvider.name == PROVIDER, Integration.status != "inactive")
            .order_by(Integration.created_at))


async def workspace_for_team(services: Services, team_id: str) -> Workspace | None:
    """The oldest Slack integration that answers for ``team_id``."""
    async with services.db.system_session() as session:
        rows = await session.scalars(_slack_integrations().where(
            Integration.settings[TEAM_SETTING].astext == team_id))
        for row in rows:
            found = await _workspace(services, row)
            if found is not None:
                return found
    return None


async def unlearned_workspaces(services: Services) -> list[Workspace]:
    """Slack integrations whose team is not known yet: ``auth.test`` will say."""
    async with services.db.system_session() as session:
        rows = list(await session.scalars(_slack_integrations().where(
            Integration.settings[TEAM_SETTING].astext.is_(None))))
    found = [await _workspace(services, row) for row in rows]
    return [w for w in found if w is not None]


async def remember_team(services: Services, workspace: Workspace, team_id: str,
                        bot_user_id: str | None, bot_id: str | None) -> Workspace:
    async with services.db.transaction(workspace.tenant_id) as session:
        row = await session.get(Integration, workspace.integration_id)
        if row is not None:
            row.settings = {**row.settings, TEAM_SETTING: team_id,
                            "slack_bot_user_id": bot_user_id, "slack_bot_id": bot_id}
    return Workspace(tenant_id=workspace.tenant_id, integration_id=workspace.integration_id,
                     team_id=team_id, api_url=workspace.api_url, token=workspace.token,
                     bot_user_id=bot_user_id, bot_id=bot_id)


async def slack_caller(services: Services, workspace: Workspace, slack_user: str,
                       email: str | None, name: str = "") -> Caller:
    """The tenant's user with the Slack user's e-mail, else the Slack user's own viewer."""
    async with services.db.transaction(workspace.tenant_id) as session:
        user = None
        if email:
            user = await session.scalar(select(User).where(User.email == email.lower()))
        if user is None:
            shadow = f"{slack_user}@{workspace.team_id}.{SHADOW_DOMAIN}".lower()
            # two replicas may meet the same new person at once: one row either way
            await session.execute(insert(User).values(
                id=uuid.uuid4(), tenant_id=workspace.tenant_id, email=shadow,
                name=(name or slack_user)[:200], role=Role.viewer,
            ).on_conflict_do_nothing(index_elements=["tenant_id", "email"]))
            user = await session.scalar(select(User).where(User.email == shadow))
        assert user is not None
        return Caller(tenant_id=user.tenant_id, user_id=user.id, role=user.role,
                      email=user.email)
