"""HubSpot: CRM v3 objects (contacts, companies, deals).

Odd parts, in code below: deltas use the search endpoint (filter on the
last-modified property, sorted ascending), whose 10,000-result cap is side-
stepped by re-windowing from the last timestamp seen; 429 bodies name a policy
(TEN_SECONDLY_ROLLING vs DAILY) that decides how long to wait; webhooks are
signed with X-HubSpot-Signature-v3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.auth import BearerScheme, OAuth2
from connectors.errors import MissingScope, ProviderError, QuotaExhausted, RateLimited, TokenExpired
from connectors.http import provider_message, retry_after_seconds
from connectors.paginators import CursorParam, Paginator
from connectors.request import Request, dig
from connectors.spec import (
    ConnectionProbe,
    ConnectorSpec,
    Delta,
    EndpointLimit,
    InboundEvent,
    RateLimit,
    Stream,
    Usage,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import (
    WebhookMalformed,
    b64_hmac,
    identifier,
    json_body,
    objects,
    require_equal,
    require_fresh,
    require_secret,
)

SEARCH_CAP = 10_000
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "deals": "hs_lastmodifieddate"}
FIELDS = {
    "contacts": ("email", "firstname", "lastname", "company", "phone", "lifecyclestage"),
    "companies": ("name", "domain", "industry", "city", "country"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate"),
}


@dataclass(frozen=True)
class SearchPages(Paginator):
    """Search paging with the 10,000-result cap: near the cap, start a new window at the
    newest modification time seen instead of paging further (HubSpot answers 400 there)."""

    modified: str

    def first(self, request: Request, page_size: int) -> Request:
        return replace(request, json={**request.json, "limit": min(page_size, 200)})

    def next(self, request: Request, body: Any) -> Request | None:
        after = dig(body, "paging.next.after")
        if not after:
            return None
        query = dict(request.json)
        if int(after) + query["limit"] <= SEARCH_CAP:
            return replace(request, json={**query, "after": after})
        newest = max(int(datetime.fromisoformat(
            r["updatedAt"].replace("Z", "+00:00")).timestamp() * 1000)
            for r in body["results"])
        query.pop("after", None)
        query["filterGroups"] = [{"filters": [
            {"propertyName": self.modified, "operator": "GTE", "value": str(newest)}]}]
        return replace(request, json=query)


def _search_delta(stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
    modified = MODIFIED[stream.name]
    ms = int(datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() * 1000)
    body = {
        "filterGroups": [{"filters": [
            {"propertyName": modified, "operator": "GTE", "value": str(ms)}]}],
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": list(stream.fields),
    }
    return (Request("POST", f"/crm/v3/objects/{stream.name}/search", json=body),
            SearchPages(modified))


def _stream(name: str) -> Stream:
    return Stream(
        name=name, path=f"/crm/v3/objects/{name}", records="results",
        paginator=CursorParam("paging.next.after", "after"),
        params={"properties": ",".join(FIELDS[name]), "archived": "false"},
        cursor_field="updatedAt", delta=Delta(build=_search_delta), page_size=100,
        fields=FIELDS[name])


def _batch_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    body = response.json()
    errors = [{"message": e.get("message", ""), "context": e.get("context", {})}
              for e in body.get("errors", [])]
    failed = sum(max(1, len(dig(e, "context.ids") or [])) for e in errors) if errors else 0
    ids = [r["id"] for r in body.get("results", [])]
    return WriteResult(ok=len(ids), failed=min(failed, len(batch) - len(ids)) if errors else 0,
                       errors=errors, ids=ids)


def _properties(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"properties": {k: v for k, v in r.items() if k != "id"}} for r in records]


def _write(name: str, path: str, kind: str, body: Any) -> Write:
    return Write(name=name, method="POST", path=path, batch_size=100, kind=kind, body=body,
                 result=_batch_result)


WRITES = (
    _write("contacts.upsert", "/crm/v3/objects/contacts/batch/upsert", "upsert",
           lambda rs: {"inputs": [{"id": r["email"], "idProperty": "email",
                                   "properties": r} for r in rs]}),
    _write("contacts.create", "/crm/v3/objects/contacts/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
    _write("contacts.update", "/crm/v3/objects/contacts/batch/update", "update",
           lambda rs: {"inputs": [{"id": r["id"], **p}
                                  for r, p in zip(rs, _properties(rs), strict=True)]}),
    _write("companies.create", "/crm/v3/objects/companies/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
    _write("deals.create", "/crm/v3/objects/deals/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
)


def classify(response: httpx.Response, body: Any) -> ProviderError | None:
    if response.status_code < 400 or not isinstance(body, dict):
        return None
    said = provider_message(body) or ""
    category = body.get("category", "")
    kw: dict[str, Any] = {"provider": "hubspot", "http_status": response.status_code,
                          "provider_code": category or None, "provider_message": said}
    if response.status_code == 429 or category == "RATE_LIMITS":
        if body.get("policyName") == "DAILY":
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0)
            return QuotaExhausted(f"HubSpot daily API limit reached: {said}",
                                  resets_at=tomorrow, **kw)
        # without Retry-After the budget decides (connectors/http.py): the whole interval
        # header would overstate a rolling window's wait
        wait = retry_after_seconds(response)
        return RateLimited(f"HubSpot rate limit ({body.get('policyName', 'burst')}): {said}",
                           retry_after=wait, **kw)
    if response.status_code == 401:
        return TokenExpired(f"HubSpot rejected the token ({category or 'unauthorized'}): {said}",
                            **kw)
    if category == "MISSING_SCOPES" or response.status_code == 403:
        return MissingScope(f"HubSpot: the app lacks a required scope: {said}", **kw)
    return None


def usage(response: httpx.Response) -> Usage:
    daily = response.headers.get("x-hubspot-ratelimit-daily")
    left = response.headers.get("x-hubspot-ratelimit-daily-remaining")
    if daily and left and int(daily):
        midnight = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        return Usage(remaining_fraction=int(left) / int(daily), resets_at=midnight)
    return Usage()


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    return b64_hmac(secret, method.encode() + uri.encode() + body + timestamp.encode())


def verify(request: WebhookRequest, secrets: dict[str, Any]) -> None:
    secret = require_secret(secrets, "client_secret", "HubSpot")
    timestamp = request.headers.get("x-hubspot-request-timestamp")
    require_fresh(timestamp, window_s=300, unit=1000)
    assert timestamp is not None
    expected = signature_v3(secret, request.method, request.url, request.body, timestamp)
    require_equal(expected, request.headers.get("x-hubspot-signature-v3"),
                  "X-HubSpot-Signature-v3")


def events(request: WebhookRequest) -> list[InboundEvent]:
    """The body is an array of events, each with an ``eventId``::

        [{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 51,
          "portalId": 62515, "occurredAt": 1704067205000}]
    """
    found = []
    body = json_body(request.body, "HubSpot")
    if not isinstance(body, list):
        raise WebhookMalformed("the HubSpot webhook body must be a JSON array of events")
    for event in objects(body, "each event", "HubSpot"):
        identifier(event.get("eventId"), "eventId", "HubSpot")
        key = ":".join(str(event.get(k, "")) for k in
                       ("portalId", "subscriptionType", "objectId", "eventId", "occurredAt"))
        found.append(InboundEvent(key, str(event.get("subscriptionType", "unknown")), event))
    return found


SPEC = ConnectorSpec(
    name="hubspot",
    base_url="https://api.hubapi.com",
    sandbox_base="/hubspot",
    auth=BearerScheme(oauth=OAuth2(
        authorize_url="https://app.hubspot.com/oauth/authorize",
        token_url="https://api.hubapi.com/oauth/v1/token",
        scopes=("oauth", "crm.objects.contacts.read", "crm.objects.contacts.write",
                "crm.objects.companies.read", "crm.objects.companies.write",
                "crm.objects.deals.read", "crm.objects.deals.write"),
        pkce=False)),
    sandbox_oauth=("/hubspot/oauth/authorize", "/hubspot/oauth/v1/token"),
    streams=tuple(_stream(name) for name in ("contacts", "companies", "deals")),
    writes=WRITES,
    test_call=ConnectionProbe(
        Request("GET", "/crm/v3/objects/contacts", {"limit": 1}),
        lambda body: "Connected to HubSpot; contacts are readable"
        + (f" (first: {dig(body, 'results.0.properties.email')})"
           if dig(body, "results.0") else "")),
    rate_limit=RateLimit(
        requests=100, per_seconds=10, daily=250_000,
        # search has a lower limit of its own, per account, on top of the general one
        # (search guide: 5 a second; 2019 changelogs said 4 per token, since raised)
        endpoints=(EndpointLimit("search", "/crm/v3/objects/*/search", 5, 1, method="POST"),)),
    webhooks=Webhooks(verify=verify, events=events, secret_field="client_secret"),
    classify=classify,
    usage=usage,
    sandbox_demo={"credentials": {"access_token": "sandbox", "client_id": "sandbox-client",
                                  "client_secret": "sandbox-secret"},
                  "settings": {}},
)

__all__ = ["SPEC", "signature_v3"]
