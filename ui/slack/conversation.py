"""What the bot does once Slack has its acknowledgement: ask the agent and reply in the
thread, or decide a confirmation a button was pressed for and update its message."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

import agent
from tools import confirmations
from tools.context import Caller, Conflict, ConnectusError, PermissionDenied, Services
from tools.slack_workspaces import Workspace, slack_caller
from ui.slack import blocks
from ui.slack.once import one_at_a_time
from ui.slack.threads import question, thread_id
from ui.slack.web import client_for, person

log = logging.getLogger(__name__)


async def _caller(services: Services, workspace: Workspace, client: AsyncWebClient,
                  slack_user: str) -> Caller:
    email, name = await person(services, workspace, client, slack_user)
    return await slack_caller(services, workspace, slack_user, email, name)


async def _post(client: AsyncWebClient, channel: str, thread_ts: str, text: str,
                rows: list[dict[str, Any]] | None = None) -> None:
    await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=rows,
                                  unfurl_links=False, unfurl_media=False)


async def answer(services: Services, workspace: Workspace, event: dict[str, Any]) -> None:
    """A mention or DM, answered by the agent in its thread."""
    client = client_for(workspace)
    channel, slack_user = str(event["channel"]), str(event.get("user") or "")
    thread_ts = str(event.get("thread_ts") or event["ts"])
    text = question(str(event.get("text") or ""), workspace.bot_user_id)
    agent_thread = thread_id(workspace.team_id, channel, thread_ts)
    try:
        caller = await _caller(services, workspace, client, slack_user)
        async with one_at_a_time(services, agent_thread):
            said = await agent.ask(services, caller, text or "hello", agent_thread)
    except ConnectusError as exc:  # the person's to fix: say what and where
        await _post(client, channel, thread_ts, f"Sorry: {blocks.escape(exc.message)}")
        return
    except Exception:
        log.exception("the Slack bot could not answer a message")
        await _post(client, channel, thread_ts,
                    "Sorry, something went wrong on our side; it has been logged.")
        raise
    if said.pending:
        fallback, rows = blocks.pending(said.pending)
        await _post(client, channel, thread_ts, fallback, rows)
    else:
        await _post(client, channel, thread_ts, blocks.answer(said.text))


async def _may_cancel(services: Services, caller: Caller, confirmation_id: uuid.UUID) -> None:
    """Whoever proposed the write may cancel it, and so may anyone who could confirm it;
    a bystander in the channel may not."""
    row = await confirmations.load(services, caller, confirmation_id)
    if row.user_id == caller.user_id or row.status != "pending":
        return
    if not caller.role.at_least(type(caller.role)(row.needs_role)):
        raise PermissionDenied(f"cancelling {row.preview.get('summary')!r} needs the "
                               f"{row.needs_role} role or being the one who asked; you are "
                               f"{caller.role.value}")


async def decide(services: Services, workspace: Workspace, body: dict[str, Any],
                 approve: bool) -> None:
    """A Confirm or Cancel button: decided as its presser (role checked), then the
    message loses its buttons and shows the result, and the agent reports in thread."""
    client = client_for(workspace)
    slack_user = str(body["user"]["id"])
    channel = str(body["container"]["channel_id"])
    message = body.get("message") or {}
    message_ts = str(body["container"]["message_ts"])
    thread_ts = str(message.get("thread_ts") or message_ts)
    try:
        confirmation_id = uuid.UUID(str(body["actions"][0]["value"]))
        caller = await _caller(services, workspace, client, slack_user)
        async with one_at_a_time(services, thread_id(workspace.team_id, channel, thread_ts)):
            if approve:
                said = await agent.confirm(services, caller, confirmation_id)
            else:
                await _may_cancel(services, caller, confirmation_id)
                said = await agent.cancel(services, caller, confirmation_id)
        row = await confirmations.load(services, caller, confirmation_id)
    except (PermissionDenied, Conflict) as exc:
        await _post(client, channel, thread_ts, f"<@{blocks.escape(slack_user)}> "
                    f"{blocks.escape(exc.message)}. Nothing was changed.")
        return
    except (ConnectusError, ValueError) as exc:
        reason = exc.message if isinstance(exc, ConnectusError) else "not a confirmation id"
        await _post(client, channel, thread_ts, f"Sorry: {blocks.escape(reason)}")
        return
    text, rows = blocks.decided(row.preview, row.status, slack_user)
    await client.chat_update(channel=channel, ts=message_ts, text=text, blocks=rows)
    if said.text:
        await _post(client, channel, thread_ts, blocks.answer(said.text))
