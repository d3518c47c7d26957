"""Google Ads API (REST binding): campaigns, ad groups and daily campaign metrics via GAQL.

Odd parts, in code below: every call needs a ``developer-token`` header besides the
OAuth bearer, and a ``login-customer-id`` header (a setting) when acting through a
manager account; reads are ``POST googleAds:search`` with a GAQL query in the body
and the page token going back in the body (pages are fixed at 10,000 rows: sending
a page size is an error); a query selecting ``segments.date`` must bound it, and
"today" is only known when a read starts, so the query is finished then; metrics
restate for days (conversions arrive late), so their delta re-reads a trailing
window from three days before the cursor, keyed by (campaign id, date); errors are
a GoogleAdsFailure inside Google's envelope, and a bad developer token is a 401
that no token refresh can fix; the daily quota (15,000 operations for Basic access)
belongs to the developer token, so the budget is keyed by it. No delta for
campaigns and ad groups: the resources carry no change time (``change_status``
would, but is not covered); they are small, and re-read whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from connectors.auth import Bearer, BearerScheme, OAuth2
from connectors.error_table import ErrorTable, Rule, Wait
from connectors.errors import (
    BadRequest,
    MissingScope,
    NotFoundAtProvider,
    QuotaExhausted,
    RateLimited,
    ReconnectNeeded,
    TokenExpired,
)
from connectors.paginators import BodyCursor, Paginator
from connectors.request import Request, dig
from connectors.spec import (
    ConnectionTest,
    ConnectorSpec,
    Delta,
    InboundEvent,
    RateLimit,
    Stream,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import (
    WebhookRejected,
    identifier,
    json_object,
    require_equal,
    require_secret,
)
from store.errors import ValidationFailed

RESTATEMENT_DAYS = 3  # conversions are attributed late: re-read this far behind the cursor
HISTORY_DAYS = 90  # a first metrics read goes this far back
DEV_TOKEN_HELP = ("Fix the developer token in the integration's credentials (Google Ads "
                  "API Center of the manager account); refreshing the OAuth token cannot.")
CAMPAIGN = ("campaign.id", "campaign.name", "campaign.status",
            "campaign.advertising_channel_type", "campaign.start_date", "campaign.end_date")
AD_GROUP = ("ad_group.id", "ad_group.name", "ad_group.status", "ad_group.campaign",
            "ad_group.type", "ad_group.cpc_bid_micros", "campaign.id")
METRICS = ("campaign.id", "campaign.name", "segments.date", "metrics.impressions",
           "metrics.clicks", "metrics.cost_micros", "metrics.conversions",
           "metrics.conversions_value")


def customer_id(value: Any, field: str) -> str:
    """Google wants 10 digits; people copy ``123-456-7890`` from the Ads UI."""
    digits = re.sub(r"[\s-]", "", str(value))
    if not re.fullmatch(r"\d{10}", digits):
        raise ValidationFailed(f"must be a 10-digit Google Ads customer id such as "
                               f"1234567890 (got {value!r})", field=f"settings.{field}")
    return digits


@dataclass(frozen=True)
class GoogleAdsScheme(BearerScheme):
    """OAuth bearer plus the developer token, and login-customer-id from the settings."""

    required: tuple[str, ...] = ("access_token", "developer_token")

    def build(self, credentials: dict[str, Any]) -> httpx.Auth:
        return self.build_for(credentials, {})

    def build_for(self, credentials: dict[str, Any], settings: dict[str, Any]) -> httpx.Auth:
        headers = {"developer-token": str(credentials.get("developer_token") or "")}
        if settings.get("login_customer_id"):
            headers["login-customer-id"] = customer_id(settings["login_customer_id"],
                                                       "login_customer_id")
        return Bearer(credentials["access_token"], headers)


def context(credentials: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    found = settings.get("customer_id")
    return {"customer_id": customer_id(found, "customer_id")} if found else {}


@dataclass(frozen=True)
class GaqlPages(BodyCursor):
    """Search paging that first fills ``{since}``/``{until}`` left in the query: a first
    read covers ``HISTORY_DAYS``; ``until`` is today in UTC (an account ahead of UTC
    gets its today on the next trailing re-read)."""

    def first(self, request: Request, page_size: int) -> Request:
        today = datetime.now(UTC).date()
        query = (request.json["query"]
                 .replace("{since}", (today - timedelta(days=HISTORY_DAYS)).isoformat())
                 .replace("{until}", today.isoformat()))
        return super().first(replace(request, json={**request.json, "query": query}), page_size)


PAGER = GaqlPages("nextPageToken", "pageToken", limit_field=None)


def _trailing_window(stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
    start = date.fromisoformat(since[:10]) - timedelta(days=RESTATEMENT_DAYS)
    query = request.json["query"].replace("{since}", start.isoformat())
    return replace(request, json={**request.json, "query": query}), stream.paginator


def _search(name: str, fields: tuple[str, ...], resource: str, tail: str = "",
            **kw: Any) -> Stream:
    query = f"SELECT {', '.join(fields)} FROM {resource}{tail}"  # noqa: S608 - constants
    return Stream(name=name, path="/customers/{customer_id}/googleAds:search", method="POST",
                  records="results", paginator=PAGER, body={"query": query}, page_size=10_000,
                  fields=fields, settings=("customer_id",), **kw)


STREAMS = (
    _search("campaigns", CAMPAIGN, "campaign", primary_key="campaign.id"),
    _search("ad_groups", AD_GROUP, "ad_group", primary_key="adGroup.id"),
    # one row per campaign and day: the key is compound (Stream.key joins the parts)
    _search("campaign_metrics", METRICS, "campaign",
            " WHERE segments.date BETWEEN '{since}' AND '{until}' ORDER BY segments.date",
            primary_key="campaign.id,segments.date", cursor_field="segments.date",
            delta=Delta(build=_trailing_window)),
)


def _failures(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """partialFailureError: one GoogleAdsError per failed operation, located by index."""
    found: dict[int, dict[str, Any]] = {}
    for detail in dig(body, "partialFailureError.details") or []:
        for error in detail.get("errors", []) if isinstance(detail, dict) else []:
            path = dig(error, "location.fieldPathElements") or []
            index = next((p["index"] for p in path if "index" in p), None)
            if index is not None and index not in found:
                found[index] = {"index": index, "message": error.get("message", ""),
                                "code": error.get("errorCode", {})}
    return found


def _partial_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    body = response.json()
    results = body.get("results") or []
    failed = _failures(body)
    ids = [str(r.get("resourceName", "")).rsplit("/", 1)[-1] or str(r.get("gclid"))
           for i, r in enumerate(results) if r and i not in failed]
    return WriteResult(ok=len(ids), failed=len(batch) - len(ids),
                       errors=list(failed.values()), ids=ids)


def _mask(record: dict[str, Any]) -> str:
    return ",".join(k for k in record if k != "resourceName")


def _write(name: str, path: str, kind: str, batch: int, body: Any) -> Write:
    return Write(name=name, method="POST", path=path, batch_size=batch, kind=kind, body=body,
                 result=_partial_result, settings=("customer_id",))


MUTATE = "/customers/{customer_id}/campaigns:mutate"
WRITES = (  # partialFailure: good operations apply, bad ones are reported by index
    _write("campaigns.create", MUTATE, "create", 10_000,
           lambda rs: {"operations": [{"create": r} for r in rs], "partialFailure": True}),
    _write("campaigns.update", MUTATE, "update", 10_000,  # records carry resourceName
           lambda rs: {"operations": [{"update": r, "updateMask": _mask(r)} for r in rs],
                       "partialFailure": True}),
    _write("conversions.upload", "/customers/{customer_id}:uploadClickConversions", "create",
           2_000, lambda rs: {"conversions": rs, "partialFailure": True}),
)


def _seconds(delay: Any) -> float | None:
    """A protobuf Duration in JSON: ``"30s"`` or ``"1.5s"``."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(delay or ""))
    return float(found[1]) if found else None


def _failure(body: Any) -> dict[str, Any]:
    """The first GoogleAdsError of the GoogleAdsFailure inside Google's envelope::

        {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "...",
                   "details": [{"@type": "...GoogleAdsFailure", "errors": [
                       {"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"}, "message": "...",
                        "details": {"quotaErrorDetails": {"retryDelay": "30s"}}}]}]}}
    """
    errors = [e for d in dig(body, "error.details") or [] if isinstance(d, dict)
              for e in d.get("errors", [])]
    first = errors[0] if errors else {}
    family, reason = next(iter((first.get("errorCode") or {}).items()), (None, None))
    return {"first": first, "reason": reason,
            "code": f"{family}.{reason}" if family else dig(body, "error.status"),
            "said": first.get("message") or dig(body, "error.message") or ""}


RETRY_DELAY = Wait(path="first.details.quotaErrorDetails.retryDelay", parse=_seconds)
ACCOUNT_IDS = "Check the customer_id and login_customer_id settings (10 digits)."
GRANT = "Grant the Google user access to this customer account, then reconnect."
ERRORS = ErrorTable(
    "Google Ads", "google_ads", code=lambda body: _failure(body)["code"],
    said=lambda body: _failure(body)["said"], fields=_failure,
    reads=lambda body: isinstance(dig(body, "error"), dict),
    unread=(Rule(NotFoundAtProvider, "{provider} answered with its HTML 404: the API version "
                 "in the URL may be sunset", status=404),),
    rules=(
        # the daily operations cap: Google says when it lifts; else look again in an hour
        Rule(QuotaExhausted, "{provider} daily quota of the developer token is used up: "
             "{said}", code=r"quotaError\.(RESOURCE_EXHAUSTED|"
             "EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION)", wait=(RETRY_DELAY,)),
        Rule(RateLimited, "{provider} asks us to slow down: {said}", code=r"quotaError\..*",
             wait=(RETRY_DELAY,)),
        # a bad developer token is a 401 that no token refresh can fix
        Rule(ReconnectNeeded, "{provider} refused the developer token ({reason}): {said}",
             code=r"\w+\.DEVELOPER_TOKEN\w*", action=DEV_TOKEN_HELP),
        Rule(TokenExpired, "{provider} rejected the OAuth token: {said}", status=401),
        Rule(MissingScope, "{provider} refused access: {said}", status=403,
             code=r"\w+\.USER_PERMISSION_DENIED", action=GRANT + " If the account is reached "
             "through a manager account, set login_customer_id to the manager's id."),
        Rule(MissingScope, "{provider} refused access: {said}", status=403, action=GRANT),
        Rule(BadRequest, "{provider} refused an account id: {said}", code=r"headerError\..*",
             action=ACCOUNT_IDS),
        Rule(BadRequest, "{provider} refused an account id: {said}",
             code=r"\w+\.INVALID_CUSTOMER_ID", action=ACCOUNT_IDS),
        Rule(RateLimited, "{provider} rate limit: {said}", status=429),
        Rule(BadRequest, "{provider} refused the request: {said}", status=range(400, 500)),
    ))  # 5xx: the default rows make it ProviderDown


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    """Lead-form webhooks are unsigned: the key configured in the form comes back in the
    JSON body as ``google_key``. Nothing is timestamped, so there is no replay window."""
    secret = require_secret(keys, "webhook_secret", "Google Ads")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookRejected("the Google Ads lead webhook body is not JSON") from None
    presented = body.get("google_key") if isinstance(body, dict) else None
    require_equal(secret, presented if isinstance(presented, str) else None, "google_key")


def events(request: WebhookRequest) -> list[InboundEvent]:
    lead = json_object(request.body, "Google Ads")
    lead.pop("google_key", None)  # the shared secret is not event data: keep it out of logs
    lead_id = identifier(lead.get("lead_id"), "lead_id", "Google Ads")
    return [InboundEvent(lead_id, "lead_form.submitted", lead)]


def _describe(body: Any) -> str:
    ids = [str(n).rsplit("/", 1)[-1] for n in body.get("resourceNames", [])]
    shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
    return f"Connected to Google Ads; the token reaches {len(ids)} customer account(s): {shown}"


def cost(request: Request) -> int:
    """Google counts a mutate by its operations, every other request (a search, however many
    rows it pages through; a conversion upload) as one (the API's rate sheet)."""
    body = request.json if isinstance(request.json, dict) else {}
    operations = body.get("operations", body.get("mutateOperations"))
    if request.path.endswith(":mutate") and isinstance(operations, list):
        return max(1, len(operations))
    return 1


SPEC = ConnectorSpec(
    name="google_ads",
    base_url="https://googleads.googleapis.com/v20",
    sandbox_base="/google_ads/v20",
    auth=GoogleAdsScheme(oauth=OAuth2(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scopes=("https://www.googleapis.com/auth/adwords",), pkce=True,
        # a refresh token comes only with offline access, and again only on re-consent
        extra_authorize_params={"access_type": "offline", "prompt": "consent"})),
    sandbox_oauth=("/google_ads/o/oauth2/v2/auth", "/google_ads/token"),
    streams=STREAMS,
    writes=WRITES,
    connection_test=ConnectionTest(Request("GET", "/customers:listAccessibleCustomers"), _describe),
    rate_limit=RateLimit(daily=15_000),  # Basic access; operations per developer token
    webhooks=Webhooks(verify=verify, events=events, secret_field="webhook_secret"),
    classify=ERRORS.classify,
    cost=cost,
    account_fields=("developer_token",),  # the daily quota is the developer token's
    context=context,
    sandbox_demo={"credentials": {"access_token": "sandbox",
                                  "developer_token": "sandbox-developer-token",
                                  "webhook_secret": "sandbox-webhook-secret",
                                  "client_id": "sandbox-client",
                                  "client_secret": "sandbox-secret"},
                  "settings": {"customer_id": "1234567890"}},
)

__all__ = ["SPEC", "customer_id"]
