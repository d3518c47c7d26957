"""Facebook (Meta) Marketing API on the Graph API: campaigns, ad sets, daily insights.

Odd parts, in code below: the token travels as the ``access_token`` query param with
an ``appsecret_proof`` (HMAC of the token with the app secret); errors are keyed by
the ``code`` in the body, not the HTTP status (throttles are HTTP 400 codes 4, 17,
32, 613 and 80000-80014, never 429, and carry no Retry-After: the wait comes from
``X-Business-Use-Case-Usage``); there are no refresh tokens, so an expired token
needs a person (re-authorise, or use a system-user token); paging ends when
``paging.next`` is absent even though cursors are still sent; insights restate for
days (attribution), so their delta re-reads a trailing ``time_range``, keyed by
(campaign id, date); batch writes are one form-encoded ``POST /`` of up to 50
sub-requests whose results each carry their own status; webhooks are signed
(``X-Hub-Signature-256``) but not timestamped, so there is no replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from connectors.auth import AuthScheme, OAuth2, QueryToken
from connectors.error_table import ErrorTable, Reply, Rule, Wait
from connectors.errors import BadRequest, MissingScope, ProviderDown, RateLimited, ReconnectNeeded
from connectors.paginators import CursorParam, Paginator
from connectors.request import Request
from connectors.spec import (
    ConnectionTest,
    ConnectorSpec,
    Delta,
    InboundEvent,
    RateLimit,
    Stream,
    Usage,
    WebhookReply,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import (
    WebhookRejected,
    hex_hmac,
    json_object,
    objects,
    require_equal,
    require_secret,
)
from store.errors import ValidationFailed

RESTATEMENT_DAYS = 3  # attribution windows restate recent days
THROTTLED = frozenset({4, 17, 32, 613, *range(80000, 80015)})
DEFAULT_WAIT_S = 60.0  # a throttle with no usage header naming the wait
EXPIRED = {463: "the token expired", 460: "the user changed their password",
           458: "the app was removed", 459: "the user must log in to Facebook first",
           467: "the token is invalid", 464: "the session is unconfirmed"}
REAUTHORISE = ("Re-authorise the integration (Facebook issues no refresh tokens), or use a "
               "system-user token from Business Settings, which does not expire.")
CAMPAIGN = ("id", "account_id", "name", "status", "effective_status", "objective",
            "buying_type", "daily_budget", "lifetime_budget", "bid_strategy",
            "special_ad_categories", "start_time", "stop_time", "created_time", "updated_time")
ADSET = ("id", "account_id", "campaign_id", "name", "status", "effective_status",
         "daily_budget", "billing_event", "optimization_goal", "start_time", "created_time",
         "updated_time")
INSIGHTS = ("account_id", "campaign_id", "campaign_name", "impressions", "clicks", "spend",
            "reach", "ctr", "cpc", "actions", "action_values")


@dataclass(frozen=True)
class GraphScheme(AuthScheme):
    """access_token as a param, with appsecret_proof from the app secret (the OAuth
    client secret is the same secret for tokens our own app issued)."""

    kind: str = "oauth2"
    required: tuple[str, ...] = ("access_token",)

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        secret = credentials.get("app_secret") or credentials.get("client_secret")
        return QueryToken(credentials["access_token"], secret or None)


def context(credentials: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    raw = str(settings.get("ad_account_id") or "").strip()
    if not raw:
        return {}
    digits = raw.removeprefix("act_")  # paths add act_ themselves
    if not digits.isdigit():
        raise ValidationFailed(f"must be a numeric ad account id, e.g. act_1234567890 or "
                               f"1234567890 (got {raw!r})", field="settings.ad_account_id")
    return {"ad_account_id": digits}


def _updated_since(iso: str) -> str:
    # whole seconds, inclusive: the boundary record comes again rather than a same-second
    # change being lost
    epoch = int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    return json.dumps([{"field": "updated_time", "operator": "GREATER_THAN_OR_EQUAL",
                        "value": epoch}])


def _trailing_window(stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
    start = date.fromisoformat(since[:10]) - timedelta(days=RESTATEMENT_DAYS)
    today = datetime.now(UTC).date()  # UTC: an account ahead of UTC gets its today next time
    params = {k: v for k, v in request.params.items() if k != "date_preset"}
    params["time_range"] = json.dumps({"since": start.isoformat(), "until": today.isoformat()})
    return replace(request, params=params), stream.paginator


PAGER = CursorParam("paging.cursors.after", "after", stop_unless="paging.next")
STREAMS = (
    Stream(name="campaigns", path="/act_{ad_account_id}/campaigns", records="data",
           paginator=PAGER, params={"fields": ",".join(CAMPAIGN)}, fields=CAMPAIGN,
           cursor_field="updated_time", delta=Delta(param="filtering", format=_updated_since),
           settings=("ad_account_id",)),
    Stream(name="adsets", path="/act_{ad_account_id}/adsets", records="data",
           paginator=PAGER, params={"fields": ",".join(ADSET)}, fields=ADSET,
           cursor_field="updated_time", delta=Delta(param="filtering", format=_updated_since),
           settings=("ad_account_id",)),
    # one row per campaign and day: the key is compound (Stream.key joins the parts);
    # a first read covers Graph's last_90d (to yesterday), later ones a trailing window
    Stream(name="insights", path="/act_{ad_account_id}/insights", records="data",
           paginator=PAGER, params={"level": "campaign", "time_increment": "1",
                                    "date_preset": "last_90d", "fields": ",".join(INSIGHTS)},
           primary_key="campaign_id,date_start", cursor_field="date_start",
           delta=Delta(build=_trailing_window), page_size=500, fields=INSIGHTS,
           settings=("ad_account_id",)),
)


def _batch_body(records: list[dict[str, Any]], context: dict[str, Any]) -> dict[str, str]:
    """Graph batch: each campaign is a form-encoded sub-request; lists go as JSON."""
    url = f"act_{context['ad_account_id']}/campaigns"
    items = [{"method": "POST", "relative_url": url, "body": urlencode(
        {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()})}
        for r in records]
    return {"batch": json.dumps(items), "include_headers": "false"}


def _batch_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    ids: list[str] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(response.json()):
        try:
            body = json.loads((item or {}).get("body") or "null")
        except ValueError:
            body = None
        if item and item.get("code") == 200 and isinstance(body, dict) and body.get("id"):
            ids.append(str(body["id"]))
            continue
        error = body.get("error", {}) if isinstance(body, dict) else {}
        errors.append({"index": index, "code": error.get("code"),  # null: never ran
                       "message": error.get("message", "no result for this sub-request")})
    return WriteResult(ok=len(ids), failed=len(batch) - len(ids), errors=errors, ids=ids)


WRITES = (
    Write(name="campaigns.create", method="POST", path="/", batch_size=50, kind="create",
          body=_batch_body, result=_batch_result, form=True, with_context=True,
          settings=("ad_account_id",)),
)


def _usage_headers(response: httpx.Response) -> tuple[float | None, float]:
    """(highest usage percentage, minutes until access returns) from X-Business-Use-Case-
    Usage (per ad account and use case), X-App-Usage and the older X-Ad-Account-Usage."""
    highest: float | None = None
    minutes = 0.0
    for name in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
        try:
            found = json.loads(response.headers.get(name) or "null")
        except ValueError:
            continue
        rows = ([e for group in found.values() if isinstance(group, list) for e in group]
                if name == "x-business-use-case-usage" and isinstance(found, dict) else [found])
        for row in (r for r in rows if isinstance(r, dict)):
            minutes = max(minutes, float(row.get("estimated_time_to_regain_access") or 0))
            for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                if isinstance(row.get(key), int | float):
                    highest = max(highest or 0.0, float(row[key]))
    return highest, minutes


def usage(response: httpx.Response) -> Usage:
    highest, minutes = _usage_headers(response)
    if highest is None:
        return Usage()
    resets = datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None
    return Usage(remaining_fraction=max(0.0, 1 - highest / 100), resets_at=resets)


def _throttle_wait(reply: Reply) -> float | None:
    """The usage headers name the wait; a transient throttle without one is worth a quick
    retry, any other a minute."""
    _, minutes = _usage_headers(reply.response)
    if minutes:
        return minutes * 60
    return None if reply.get("error.is_transient") else DEFAULT_WAIT_S


def _code(body: Any) -> str:
    code, sub = body["error"]["code"], body["error"].get("error_subcode")
    return f"{code}/{sub}" if sub else str(code)


def _graph_error(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), int)


REFUSED = "{provider} refused the request (code {error.code}): {said}"
TEMPORARY = "{provider} had a temporary problem (code {error.code}): {said}"
ERRORS = ErrorTable(
    "Facebook", "facebook_ads", code=_code, reads=_graph_error,
    said=lambda body: body["error"].get("error_user_msg") or body["error"].get("message"),
    fields=lambda body: {"why": EXPIRED.get(body["error"].get("error_subcode") or 0,
                                            "the token is no longer valid")},
    rules=(
        Rule(RateLimited, "{provider} throttled the call (code {error.code}): {said}",
             where={"error.code": THROTTLED}, wait=(Wait(compute=_throttle_wait),)),
        Rule(ReconnectNeeded, "{provider} rejected the access token: {why} ({said})",
             where={"error.code": (102, 104, 190)}, action=REAUTHORISE),  # 104: no token
        Rule(MissingScope, "{provider} refused: missing permission ({said})",
             where={"error.code": (10, *range(200, 300))}, action="Grant ads_read (and "
             "ads_management for writes) on this ad account, then reconnect."),
        Rule(ReconnectNeeded, "{provider} refused the appsecret_proof: {said}",
             where={"error.code": 100}, said="appsecret_proof",
             action="Set app_secret to the secret of the app that issued the token."),
        Rule(ProviderDown, TEMPORARY, where={"error.code": (1, 2)}),
        Rule(ProviderDown, TEMPORARY, where={"error.is_transient": True}),
        Rule(ProviderDown, TEMPORARY, where={"error.error_subcode": 1504018}),
        Rule(BadRequest, REFUSED, where={"error.error_subcode": 33}, action="Check the "
             "ad_account_id setting and that the token can see that account."),
        Rule(BadRequest, REFUSED),
    ))


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    """``sha256=`` + hex HMAC of the raw body with the app secret. Meta signs no
    timestamp, so replays cannot be refused by age: event ids dedupe them instead."""
    secret = require_secret({"app_secret": keys.get("app_secret")
                             or keys.get("client_secret")}, "app_secret", "Facebook")
    require_equal("sha256=" + hex_hmac(secret, request.body),
                  request.headers.get("x-hub-signature-256"), "X-Hub-Signature-256")


def events(request: WebhookRequest) -> list[InboundEvent]:
    """One event per ``entry[].changes[]``. Meta sends no event id: object, entry id, time
    and field name it, plus a digest of the value so two changes of one field in one
    entry stay apart while a redelivery of the same change keeps its id."""
    body = json_object(request.body, "Facebook")
    found = []
    for entry in objects(body.get("entry", []), "entry", "Facebook"):
        for change in objects(entry.get("changes", []), "entry[].changes", "Facebook"):
            value = json.dumps(change.get("value"), sort_keys=True).encode()
            key = ":".join([str(body.get("object")), str(entry.get("id")),
                            str(entry.get("time")), str(change.get("field")),
                            hashlib.sha256(value).hexdigest()[:12]])
            found.append(InboundEvent(key, f"{body.get('object')}.{change.get('field')}",
                                      {"object": body.get("object"), "entry_id": entry.get("id"),
                                       "time": entry.get("time"), **change}))
    return found


def subscription_answer(params: dict[str, str], verify_token: str) -> str | None:
    """The GET handshake when a webhook is subscribed: the REST layer answers 200 with the
    returned challenge, or 403 on None (wrong verify token)."""
    if params.get("hub.mode") != "subscribe":
        return None
    presented = params.get("hub.verify_token") or ""
    if not verify_token or not hmac.compare_digest(presented.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge")


def handshake(request: WebhookRequest, keys: dict[str, Any]) -> WebhookReply | None:
    """Meta's subscription GET: echo hub.challenge when hub.verify_token is ours (the
    integration's ``verify_token``, else its ``webhook_secret``)."""
    if request.method != "GET":
        return None
    params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    if "hub.mode" not in params:
        return None
    expected = str(keys.get("verify_token") or keys.get("webhook_secret") or "")
    answer = subscription_answer(params, expected)
    if answer is None:
        raise WebhookRejected("hub.verify_token does not match this integration's verify token")
    return WebhookReply(content_type="text/plain", body=answer.encode())


STATUS = {1: "active", 2: "disabled", 3: "unsettled", 7: "pending risk review",
          9: "in grace period", 100: "pending closure", 101: "closed"}


def _describe(body: Any) -> str:
    state = STATUS.get(body.get("account_status"), f"status {body.get('account_status')}")
    return (f"Connected to Facebook ad account {body.get('name')} ({body.get('id')}, "
            f"{body.get('currency')}, {state})")


SPEC = ConnectorSpec(
    name="facebook_ads",
    base_url="https://graph.facebook.com/v21.0",
    sandbox_base="/facebook_ads/v21.0",
    auth=GraphScheme(oauth=OAuth2(
        authorize_url="https://www.facebook.com/v21.0/dialog/oauth",
        token_url="https://graph.facebook.com/v21.0/oauth/access_token",
        scopes=("ads_read", "ads_management", "business_management"), scope_separator=",",
        pkce=True, refresh=False, token_method="GET")),
    sandbox_oauth=("/facebook_ads/v21.0/dialog/oauth", "/facebook_ads/v21.0/oauth/access_token"),
    streams=STREAMS,
    writes=WRITES,
    connection_test=ConnectionTest(Request("GET", "/act_{ad_account_id}", {
        "fields": "id,name,account_status,currency"}), _describe),
    # Business Use Case limit per ad account, standard tier: 300 + 40 x active ads an hour
    # (the floor used here); the usage headers then tell how close we are
    rate_limit=RateLimit(requests=300, per_seconds=3600),
    webhooks=Webhooks(verify=verify, events=events, secret_field="app_secret",
                      handshake=handshake),
    classify=ERRORS.classify,
    usage=usage,
    account_fields=("ad_account_id", "access_token"),  # BUC limits are per ad account
    context=context,
    sandbox_demo={"credentials": {"access_token": "sandbox", "app_secret": "sandbox-secret",
                                  "client_id": "sandbox-client",
                                  "client_secret": "sandbox-secret"},
                  "settings": {"ad_account_id": "100000000000001"}},
)

__all__ = ["SPEC", "subscription_answer"]
