"""upsert_mailchimp_member and post_to_zapier: a list member added or updated in Mailchimp,
and an event posted to a Zapier Catch Hook, each through the tenant's integration."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import Field

from jobs.workflows.actions.base import (
    ActionContext,
    ActionRefused,
    ActionSpec,
    Directory,
    Params,
    always,
)
from jobs.workflows.actions.contacts import contact_of


def _refused(ctx: ActionContext, provider: str, errors: list[dict[str, Any]]) -> ActionRefused:
    said = "; ".join(str(e.get("message", "")) for e in errors) or "no reason given"
    return ActionRefused(f"{ctx.field}: {provider} refused it: {said}")


class MemberParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"email", "merge_fields"})

    integration: str | None = Field(None, max_length=100, description=(
        "the Mailchimp integration (id or name); required when the tenant has more than one"))
    email: str | None = Field(None, max_length=320, description=(
        "the member's e-mail, templated; default the record's"))
    status_if_new: Literal["subscribed", "pending", "unsubscribed", "transactional"] = Field(
        "pending", description="a new member's status: pending (the default) sends "
        "Mailchimp's confirmation e-mail first; subscribed only with the person's consent")
    merge_fields: dict[str, Any] = Field(default_factory=dict, description=(
        "merge fields to set, templated; default FNAME and LNAME from the record"))


def resolve_mailchimp(params: dict[str, Any], directory: Directory,
                      field: str) -> dict[str, Any]:
    return {"integration": str(directory.pick("mailchimp", params.get("integration"),
                                              f"{field}.integration").id)}


async def upsert_member(ctx: ActionContext, params: MemberParams) -> dict[str, Any]:
    assert params.integration is not None  # resolved on save
    contact = contact_of(ctx.record, ctx.event)
    email = (params.email or contact.get("email") or "").strip()
    if "@" not in email:
        raise ActionRefused(f"{ctx.field}.email: the member needs an e-mail address; the "
                            "record has none")
    merge = {k: v for k, v in (("FNAME", contact.get("first_name")),
                               ("LNAME", contact.get("last_name"))) if v}
    merge.update(params.merge_fields)
    connector, ref = await ctx.connector(uuid.UUID(params.integration))
    result = await connector.write("members.upsert", [
        {"email_address": email, "status_if_new": params.status_if_new,
         "merge_fields": merge}])
    if result.failed or not result.ok:
        raise _refused(ctx, "Mailchimp", result.errors)
    return {"integration": str(ref.id), "email": email, "ids": result.ids}


class ZapierParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"payload"})

    integration: str | None = Field(None, max_length=100, description=(
        "the Zapier integration (id or name); required when the tenant has more than one"))
    payload: dict[str, Any] | None = Field(None, description=(
        "what to post, templated; default the event, the record and the workflow's name"))


def resolve_zapier(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    return {"integration": str(directory.pick("zapier", params.get("integration"),
                                              f"{field}.integration").id)}


async def post_to_zapier(ctx: ActionContext, params: ZapierParams) -> dict[str, Any]:
    assert params.integration is not None  # resolved on save
    payload = params.payload if params.payload is not None else {
        "workflow": ctx.workflow_name, "event": ctx.event, "record": ctx.record,
        "trigger": ctx.values.get("trigger", {})}
    connector, ref = await ctx.connector(uuid.UUID(params.integration))
    result = await connector.write("events.send", [payload])
    if result.failed or not result.ok:
        raise _refused(ctx, "Zapier", result.errors)
    return {"integration": str(ref.id), "request_id": result.ids[0] if result.ids else None}


MAILCHIMP = ActionSpec("upsert_mailchimp_member", "Add a member to the Mailchimp audience, or "
                       "update them if they are there", MemberParams, upsert_member,
                       resolve_mailchimp, repeatable=always)  # keyed by e-mail, update_existing
ZAPIER = ActionSpec("post_to_zapier", "Post the event (or a templated payload) to the Zapier "
                    "Catch Hook", ZapierParams, post_to_zapier, resolve_zapier)
