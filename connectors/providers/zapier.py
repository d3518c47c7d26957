"""Zapier: events out to Catch Hooks, the Workflow API's zap list in, unsigned hooks back.

Odd parts: Zapier is not a data source, so the one stream is the account's
zaps (Workflow API, offset paging with a total in ``meta.count``, no
modified-since filter). The batch write posts a JSON array to the user's
Catch Hook URL, which Zapier runs once per item; that URL is the credential
(``hook_url``) and lives on ``hooks.zapier.com``, a different host from the
API. Zapier cannot sign what it sends us ("Webhooks by Zapier" only sends
static headers), so inbound deliveries carry a shared secret in the
``X-Connectus-Webhook-Secret`` header that the user puts in their Zap.
A REST-hook target that answers 410 Gone belongs to a Zap that is off.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.auth import AuthScheme, Bearer, NoAuth, OAuth2
from connectors.error_table import ErrorTable, Rule
from connectors.errors import NotFoundAtProvider, TokenExpired
from connectors.paginators import Offset
from connectors.request import Request, dig
from connectors.spec import (
    ConnectionTest,
    ConnectorSpec,
    InboundEvent,
    RateLimit,
    Stream,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import json_body, objects, require_equal, require_secret
from store.errors import ValidationFailed

SECRET_HEADER = "x-connectus-webhook-secret"


@dataclass(frozen=True)
class ZapierScheme(AuthScheme):
    """An OAuth token for the Workflow API; the hook URL needs none (it is the secret)."""

    kind: str = "webhook"

    def validate(self, credentials: dict[str, Any]) -> None:
        if not credentials.get("access_token") and not credentials.get("hook_url"):
            raise ValidationFailed("give a Catch Hook URL (hook_url) to send events, an API "
                                   "token (access_token) to read zaps, or both",
                                   field="credentials.hook_url")

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        token = credentials.get("access_token")
        return Bearer(token) if token else NoAuth()


def _hook_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    # one request, one answer: Zapier accepted the whole array or refused it
    body = response.json() if response.content else {}
    return WriteResult(ok=len(batch), failed=0, ids=[str(body.get("request_id", ""))])


ERRORS = ErrorTable(
    "Zapier", "zapier", code=lambda body: dig(body, "errors.0.code") if dig(
        body, "errors.0.detail") else None, said="errors.0.detail", rules=(
        Rule(NotFoundAtProvider, "the Zap behind this hook is turned off or deleted; remove "
             "the subscription or turn the Zap back on", status=410),
        Rule(TokenExpired, "{provider} rejected the API token: {said}", status=401),
    ))


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    expected = require_secret(keys, "webhook_secret", "Zapier")
    require_equal(expected, request.headers.get(SECRET_HEADER), "X-Connectus-Webhook-Secret")


def events(request: WebhookRequest) -> list[InboundEvent]:
    payload = json_body(request.body, "Zapier")
    items = objects(payload if isinstance(payload, list) else [payload], "the body (an object "
                    "or an array of objects)", "Zapier")
    found = []
    for item in items:
        # Zapier sends no event id: the item's own id, else a digest of its content
        key = str(item.get("id") or hashlib.sha256(
            json.dumps(item, sort_keys=True).encode()).hexdigest()[:32])
        found.append(InboundEvent(key, str(item.get("event", "zap.event")), item))
    return found


SPEC = ConnectorSpec(
    name="zapier",
    base_url="https://api.zapier.com",
    sandbox_base="/zapier",
    auth=ZapierScheme(oauth=OAuth2(
        authorize_url="https://api.zapier.com/v2/authorize",
        token_url="https://zapier.com/oauth/token/",
        scopes=("profile", "zap"), pkce=True)),
    sandbox_oauth=("/zapier/v2/authorize", "/zapier/oauth/token/"),
    streams=(Stream(name="zaps", path="/v2/zaps", records="data",
                    paginator=Offset(offset_param="offset", limit_param="limit",
                                     total_path="meta.count", records_path="data"),
                    primary_key="id", cursor_field="updated_at", page_size=100,
                    fields=("id", "title", "is_enabled", "updated_at",
                            "last_successful_run_date")),),
    writes=(Write(name="events.send", method="POST", path="{hook_url}", batch_size=100,
                  kind="create", body=lambda records: records, result=_hook_result),),
    connection_test=ConnectionTest(
        Request("GET", "/v1/profiles/me"),
        lambda body: f"Connected to Zapier as {dig(body, 'full_name') or dig(body, 'email')}"),
    # the Workflow API allows 60 calls a minute; hooks take 30 a second, so this is the
    # tighter of the two for an account that uses both
    rate_limit=RateLimit(requests=60, per_seconds=60),
    webhooks=Webhooks(verify=verify, events=events),
    classify=ERRORS.classify,
    context=lambda credentials, settings: {"hook_url": credentials["hook_url"]}
    if credentials.get("hook_url") else {},
    trusted_hosts=("hooks.zapier.com",),
    account_fields=("access_token", "hook_url"),
    sandbox_demo={"credentials": {
        "access_token": "sandbox", "webhook_secret": "sandbox-webhook-secret",
        "hook_url": "{sandbox_url}/zapier/hooks/catch/1234567/connectus/",
        "client_id": "sandbox-client", "client_secret": "sandbox-secret"}, "settings": {}},
)
