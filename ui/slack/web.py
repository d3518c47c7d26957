"""The Slack Web API, as slack_sdk's AsyncWebClient speaks it, for one workspace."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tools.slack_workspaces import Workspace


def client_for(workspace: Workspace) -> AsyncWebClient:
    return AsyncWebClient(token=workspace.token, base_url=workspace.api_url, timeout=10)


async def person(client: AsyncWebClient, slack_user: str) -> tuple[str | None, str]:
    """The Slack user's e-mail (None when hidden: no ``users:read.email``) and name."""
    try:
        found = await client.users_info(user=slack_user)
    except SlackApiError:
        return None, ""
    user = found.get("user") or {}
    profile = user.get("profile") or {}
    return profile.get("email"), str(user.get("real_name") or user.get("name") or "")
