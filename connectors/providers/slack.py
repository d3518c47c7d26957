"""Slack: Web API (channels, users, one channel's messages) and the Events API.

Odd parts, in code below: almost every failure is HTTP 200 with ``{"ok": false,
"error": "<code>"}``, so ``classify`` reads the body, not the status (only rate
limits are real 429s, with Retry-After); limits are per method in tiers, declared
per method in ``RATE_LIMIT`` (chat.postMessage per channel); there is no batch
write, so ``chat.postMessage`` is a batch of one; with token rotation a refresh
REPLACES the refresh token (oauth.refresh keeps the new one and it is what gets
saved). No list method filters by modification time: channels and users are
re-listed whole (their ``updated`` is kept as the cursor field so a sync can diff
client-side); messages have a real delta, ``oldest``, but come newest first, so
a sync must commit its cursor only after the last page (or resume with
``Page.resume``). Events are v0-signed with the app's signing secret over
``v0:<timestamp>:<raw body>``, 300 s replay window.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from connectors.auth import BearerScheme, OAuth2
from connectors.error_table import RETRY_AFTER, ErrorTable, Rule
from connectors.errors import (
    BadRequest,
    MissingScope,
    ProviderDown,
    RateLimited,
    ReconnectNeeded,
    TokenExpired,
)
from connectors.paginators import CursorParam
from connectors.request import Request
from connectors.spec import (
    ConnectionTest,
    ConnectorSpec,
    Delta,
    EndpointLimit,
    InboundEvent,
    RateLimit,
    Stream,
    WebhookReply,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import (
    WebhookMalformed,
    hex_hmac,
    identifier,
    json_object,
    require_equal,
    require_fresh,
    require_secret,
)

RECONNECT = ("invalid_auth", "not_authed", "account_inactive", "token_revoked",
             "ekm_access_denied", "team_access_not_granted")
DOWN = ("fatal_error", "internal_error", "service_unavailable", "request_timeout")
PAGER = CursorParam("response_metadata.next_cursor", "cursor")


def _epoch(iso: str) -> str:
    """``oldest`` takes a Slack ts (epoch seconds with a fraction)."""
    return f"{datetime.fromisoformat(iso.replace('Z', '+00:00')).timestamp():.6f}"


def context(credentials: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    # the channel goes into a query string: accept "#general" as people type it
    channel = str(settings.get("channel") or "").strip().lstrip("#")
    return {"channel": quote(channel, safe="")} if channel else {}


STREAMS = (
    Stream(name="channels", path="/conversations.list", records="channels", paginator=PAGER,
           params={"types": "public_channel,private_channel", "exclude_archived": "false"},
           # no server-side delta: re-list and diff on `updated` (epoch ms)
           cursor_field="updated", page_size=200),
    Stream(name="users", path="/users.list", records="members", paginator=PAGER,
           cursor_field="updated", page_size=200),  # epoch s; no filter on it either
    Stream(name="messages", path="/conversations.history?channel={channel}",
           records="messages", paginator=PAGER, primary_key="ts", cursor_field="ts",
           delta=Delta(param="oldest", format=_epoch), page_size=200, settings=("channel",)),
)


def _tier(method: str, tier: int) -> EndpointLimit:
    """Web API tiers: Tier 1 1+ a minute, Tier 2 20+, Tier 3 50+, Tier 4 100+ (the floors)."""
    return EndpointLimit(method, f"/{method}", {1: 1, 2: 20, 3: 50, 4: 100}[tier], 60)


# Slack publishes no account-wide allowance: each method has its own, per workspace.
RATE_LIMIT = RateLimit(endpoints=(
    # special tier: about one message a second per channel, short bursts tolerated
    EndpointLimit("chat.postMessage", "/chat.postMessage", 1, 1, per_param="channel"),
    _tier("conversations.list", 2), _tier("users.list", 2),
    _tier("conversations.history", 3), _tier("conversations.info", 3),
    _tier("users.info", 4), _tier("auth.test", 4),
    # a method not listed here: Tier 2, where Slack says most methods are
    EndpointLimit("other methods", "/*", 20, 60),
))


def _post_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    # ok:false never reaches here (classify raises and Connector.write counts the batch
    # of one as failed); kept defensive in case a caller bypasses classify
    body = response.json()
    if not body.get("ok"):
        return WriteResult(ok=0, failed=len(batch), errors=[{"message": body.get("error")}])
    return WriteResult(ok=1, failed=0, ids=[f"{body.get('channel')}:{body.get('ts')}"])


WRITES = (
    Write(name="messages.post", method="POST", path="/chat.postMessage", kind="create",
          batch_size=1,  # Slack has no batch write: one message per call
          body=lambda records: records[0], result=_post_result),
)


def _failed(response: httpx.Response, body: Any) -> bool:
    """HTTP 200 with ``ok: false`` is a failure too; a ``warning`` alone is not."""
    return response.status_code >= 400 or (isinstance(body, dict) and body.get("ok") is False)


REFUSED = "{provider} refused the call: {code}"
ERRORS = ErrorTable(
    # not Slack's JSON (an HTML 404 outside /api): the default rows decide
    "Slack", "slack", code=lambda body: body.get("error") or "unknown_error",
    said=lambda body: body.get("error") or "unknown_error",
    reads=lambda body: isinstance(body, dict), failed=_failed, rules=(
        Rule(RateLimited, "{provider} rate limit for this method ({code})", status=429,
             wait=(RETRY_AFTER,)),
        Rule(RateLimited, "{provider} rate limit for this method ({code})",
             code="ratelimited|rate_limited", wait=(RETRY_AFTER,)),
        Rule(TokenExpired, "the {provider} token expired (token rotation)",
             code="token_expired"),
        Rule(ReconnectNeeded, "{provider} no longer accepts the token ({code})",
             code="|".join(RECONNECT), action="Reconnect Slack: the app was uninstalled, the "
             "token revoked or the account deactivated."),
        Rule(MissingScope, "the {provider} app lacks scope {needed|?} (it has: {provided|?})",
             code="missing_scope|no_permission", details=("needed", "provided"),
             action="Add the bot scope(s) {needed|?} to the Slack app, reinstall it, then "
             "reconnect the integration."),
        Rule(ProviderDown, "{provider} is having trouble ({code})", code="|".join(DOWN)),
        Rule(ProviderDown, "{provider} is having trouble ({code})", status=range(500, 600)),
        Rule(BadRequest, REFUSED, code="not_in_channel",
             action="Invite the Connectus app to the channel (/invite @app)."),
        Rule(BadRequest, REFUSED, code="channel_not_found", action="Check the channel "
             "setting: use a channel id (C...) the app can see."),
        Rule(BadRequest, REFUSED, code="is_archived",
             action="The channel is archived: unarchive it or pick another."),
        Rule(BadRequest, REFUSED),
    ))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v0=" + hex_hmac(secret, b"v0:" + timestamp.encode() + b":" + body)


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    secret = require_secret(keys, "webhook_secret", "Slack")
    timestamp = request.headers.get("x-slack-request-timestamp")
    require_fresh(timestamp, window_s=300)
    assert timestamp is not None
    require_equal(signature(secret, timestamp, request.body),
                  request.headers.get("x-slack-signature"), "X-Slack-Signature")


def challenge(request: WebhookRequest) -> dict[str, str] | None:
    """A verified ``url_verification`` delivery: the REST layer must answer 200 with this
    JSON (``{"challenge": ...}``) when Slack checks the Request URL; it yields no events."""
    body = json_object(request.body, "Slack")
    if body.get("type") != "url_verification":
        return None
    if not isinstance(body.get("challenge"), str):
        raise WebhookMalformed("Slack: the url_verification carries no challenge string")
    return {"challenge": body["challenge"]}


def handshake(request: WebhookRequest, keys: dict[str, Any]) -> WebhookReply | None:
    """Slack checks the Request URL with a url_verification POST, signed like any other
    delivery: verified before its body is read."""
    if request.method != "POST" or b"url_verification" not in request.body:
        return None
    verify(request, keys)
    answer = challenge(request)
    return None if answer is None else WebhookReply(body=json.dumps(answer).encode())


def events(request: WebhookRequest) -> list[InboundEvent]:
    body = json_object(request.body, "Slack")
    kind = body.get("type")
    if kind == "event_callback":  # retries (X-Slack-Retry-Num) repeat event_id: dedup on it
        event = body.get("event") or {}
        if not isinstance(event, dict):
            raise WebhookMalformed("Slack: the event_callback's event must be an object")
        event_id = identifier(body.get("event_id"), "event_id", "Slack")
        return [InboundEvent(event_id, str(event.get("type", "unknown")), body)]
    if kind == "app_rate_limited":  # Slack is dropping our events for a minute: say so
        key = f"app_rate_limited:{body.get('team_id')}:{body.get('minute_rate_limited')}"
        return [InboundEvent(key, "app_rate_limited", body)]
    return []  # url_verification: see challenge()


def _describe(body: Any) -> str:
    return (f"Connected to Slack workspace {body.get('team')} ({body.get('team_id')}) "
            f"as {body.get('user')} ({body.get('user_id')})")


SPEC = ConnectorSpec(
    name="slack",
    base_url="https://slack.com/api",
    sandbox_base="/slack/api",
    auth=BearerScheme(oauth=OAuth2(
        authorize_url="https://slack.com/oauth/v2/authorize",
        token_url="https://slack.com/api/oauth.v2.access",
        scopes=("channels:read", "groups:read", "channels:history", "groups:history",
                "users:read", "users:read.email", "chat:write"),
        scope_separator=",", pkce=True, client_auth="client_secret_basic")),
    sandbox_oauth=("/slack/oauth/v2/authorize", "/slack/api/oauth.v2.access"),
    streams=STREAMS,
    writes=WRITES,
    connection_test=ConnectionTest(Request("GET", "/auth.test"), _describe),
    rate_limit=RATE_LIMIT,
    webhooks=Webhooks(verify=verify, events=events, secret_field="webhook_secret",
                      handshake=handshake, streams=(
                          ("channel_*", "channels"), ("group_*", "channels"),
                          ("user_change", "users"), ("team_join", "users"),
                          ("message", "messages"))),
    classify=ERRORS.classify,
    context=context,
    sandbox_demo={"credentials": {"access_token": "xoxb-sandbox",
                                  "webhook_secret": "sandbox-webhook-secret"},
                  "settings": {"channel": "C060000000"}},  # #general; the bot is a member
)

__all__ = ["SPEC", "challenge", "signature"]
