"""send_notification: a message to Slack through the tenant's Slack integration.

The integration is the one ``integration`` names, or the tenant's only Slack one (when it
has more, saving the workflow asks which). The message goes to ``slack_channel``, else
the integration's ``settings.default_channel`` (else its ``settings.channel``), and says
``text`` (templated) or, by default, what happened and to whom: "New Lead Alert:
contact.creation in HubSpot: Ada Lovelace (ada@example.com)".
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import Field

from connectors.registry import connector_spec
from jobs.workflows.actions.base import (
    ActionContext,
    ActionRefused,
    ActionSpec,
    Directory,
    IntegrationRef,
    Params,
)
from jobs.workflows.actions.contacts import contact_of, display_name
from store.errors import ValidationFailed

MAX_TEXT = 4_000


class NotificationParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"text"})

    channel: Literal["slack"] = Field("slack", description="where to notify (Slack)")
    integration: str | None = Field(None, max_length=100, description=(
        "the Slack integration (id or name); required when the tenant has more than one"))
    slack_channel: str | None = Field(None, min_length=1, max_length=100, description=(
        "channel id or name; default the integration's settings.default_channel"))
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT, description=(
        "the message, templated; default names the event and the record"))


def channel_of(params: dict[str, Any], slack: IntegrationRef) -> str | None:
    found = (params.get("slack_channel") or slack.settings.get("default_channel")
             or slack.settings.get("channel"))
    return str(found) if found else None


def resolve(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    slack = directory.pick("slack", params.get("integration"), f"{field}.integration")
    if channel_of(params, slack) is None:
        raise ValidationFailed(f"is required: Slack integration {slack.name!r} has no "
                               "settings.default_channel", field=f"{field}.slack_channel")
    return {"integration": str(slack.id)}


def default_text(ctx: ActionContext) -> str:
    provider = ctx.trigger_integration.provider
    spec = connector_spec(provider)
    shown = (spec.display_name if spec and spec.display_name else None) or {
        "hubspot": "HubSpot"}.get(provider, provider.replace("_", " ").title())
    what = str(ctx.values.get("trigger", {}).get("event_type") or "an event")
    who = display_name(contact_of(ctx.record, ctx.event))
    return f"{ctx.workflow_name}: {what} in {shown}: {who}"


async def send_notification(ctx: ActionContext, params: NotificationParams) -> dict[str, Any]:
    if params.integration is None:
        raise ValidationFailed("is required", field=f"{ctx.field}.integration")
    connector, slack = await ctx.connector(uuid.UUID(params.integration))
    channel = channel_of(params.model_dump(), slack)
    if channel is None:
        raise ActionRefused(f"{ctx.field}: no slack_channel, and Slack integration "
                            f"{slack.name!r} has no settings.default_channel")
    text = (params.text or default_text(ctx))[:MAX_TEXT]
    result = await connector.write("messages.post",
                                   [{"channel": channel.lstrip("#"), "text": text}])
    if result.failed or not result.ok:
        said = "; ".join(str(e.get("message", "")) for e in result.errors) or "no reason given"
        raise ActionRefused(f"{ctx.field}: Slack refused the message: {said}")
    posted = result.ids[0] if result.ids else ""
    where, _, ts = posted.partition(":")
    return {"integration": str(slack.id), "channel": where or channel, "ts": ts, "text": text}


ACTION = ActionSpec("send_notification", "Post a message to Slack through the tenant's Slack "
                    "integration", NotificationParams, send_notification, resolve)
