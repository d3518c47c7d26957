"""The Slack app: slack-bolt's AsyncApp checks each request's v0 signature and its
timestamp (five minutes at most) before anything reads the body, answers Slack's
url_verification, maps the team to its workspace (``authorize``), skips the bot's own
events, and acknowledges within Slack's three seconds: the agent's work runs after the
acknowledgement, in the listener's own task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError

from tools.context import Services
from tools.slack_workspaces import (
    Workspace,
    remember_team,
    unlearned_workspaces,
    workspace_for_team,
)
from ui.slack import blocks, conversation
from ui.slack.once import first_delivery
from ui.slack.web import client_for

log = logging.getLogger(__name__)
NOT_CONNECTED = ("This Slack workspace is not connected to Connectus yet: add a Slack "
                 "integration with its bot token first.")


async def _learn(services: Services, team_id: str, learning: asyncio.Lock) -> Workspace | None:
    """Ask auth.test which team each Slack integration's token belongs to, and keep it."""
    async with learning:
        found = await workspace_for_team(services, team_id)
        if found is not None:
            return found
        for workspace in await unlearned_workspaces(services):
            try:
                said = await client_for(workspace).auth_test()
            except SlackApiError as exc:
                log.warning("Slack integration %s: auth.test said %s", workspace.integration_id,
                            exc.response.get("error"))
                continue
            learned = await remember_team(services, workspace, str(said["team_id"]),
                                          said.get("user_id"), said.get("bot_id"))
            if learned.team_id == team_id:
                found = found or learned
        return found


def build_app(services: Services, signing_secret: str) -> AsyncApp:
    learning = asyncio.Lock()  # one auth.test round at a time

    async def authorize(team_id: str | None, enterprise_id: str | None,
                        context: AsyncBoltContext) -> AuthorizeResult | None:
        if not team_id:
            return None
        workspace = await workspace_for_team(services, team_id) or \
            await _learn(services, team_id, learning)
        if workspace is None:  # no tenant has connected this workspace
            log.warning("a Slack event of team %s, which no Slack integration belongs to",
                        team_id)
            return None
        context["workspace"] = workspace
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                               bot_user_id=workspace.bot_user_id, bot_id=workspace.bot_id,
                               bot_token=workspace.token)

    # bolt reads None from authorize as "not installed" and says so to the person
    app = AsyncApp(signing_secret=signing_secret, authorize=authorize,  # type: ignore[arg-type]
                   process_before_response=False, raise_error_for_unhandled_request=False,
                   user_facing_authorize_error_message=NOT_CONNECTED)

    @app.middleware
    async def once_per_event(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await first_delivery(services, str(body.get("team_id")),
                                                 str(event_id)):
            return BoltResponse(status=200, body="")  # a retry: answered already
        await next()
        return None

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if not _from_a_person(event):
            return
        await conversation.answer(services, context["workspace"], event)

    @app.event("message")
    async def direct_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("channel_type") != "im" or not _from_a_person(event):
            return
        await conversation.answer(services, context["workspace"], event)

    @app.action(blocks.CONFIRM)
    async def confirm(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        await conversation.decide(services, context["workspace"], body, approve=True)

    @app.action(blocks.CANCEL)
    async def cancel(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        await conversation.decide(services, context["workspace"], body, approve=False)

    return app


def _from_a_person(event: dict[str, Any]) -> bool:
    """Not a bot's (ours included), not an edit or a join: a person said something."""
    return not event.get("bot_id") and not event.get("subtype") and bool(event.get("user"))
