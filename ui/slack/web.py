"""The Slack Web API, as slack_sdk's AsyncWebClient speaks it, for one workspace."""

from __future__ import annotations

import json

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tools.context import Services
from tools.slack_workspaces import Workspace

# users.info is Tier 4 (100+ a minute): a busy channel's every message would spend it; a
# changed e-mail or name counts within this long
PERSON_KEEP_S = 600


def client_for(workspace: Workspace) -> AsyncWebClient:
    return AsyncWebClient(token=workspace.token, base_url=workspace.api_url, timeout=10)


async def person(services: Services, workspace: Workspace, client: AsyncWebClient,
                 slack_user: str) -> tuple[str | None, str]:
    """The Slack user's e-mail (None when hidden: no ``users:read.email``) and name, asked
    of Slack once per ``PERSON_KEEP_S`` and kept in Redis for every replica meanwhile."""
    key = f"connectus:slack:person:{workspace.integration_id}:{slack_user}"
    if services.queue is not None and (kept := await services.queue.get(key)):
        email, name = json.loads(kept)
        return email, name
    try:
        found = await client.users_info(user=slack_user)
    except SlackApiError:
        return None, ""  # not kept: the next message asks again
    user = found.get("user") or {}
    profile = user.get("profile") or {}
    said = profile.get("email"), str(user.get("real_name") or user.get("name") or "")
    if services.queue is not None:
        await services.queue.set(key, json.dumps(said), ex=PERSON_KEEP_S)
    return said
