"""HubSpot: CRM v3 objects (contacts, companies, deals).

Deletions: ``archived=true`` on the list serves archived records with ``archivedAt``;
the id scan asks for ``properties=hs_object_id`` only.

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
from connectors.error_table import RETRY_AFTER, ErrorTable, Reply, Rule
from connectors.errors import MissingScope, QuotaExhausted, RateLimited, TokenExpired
from connectors.paginators import CursorParam, Paginator
from connectors.request import Request, dig
from connectors.spec import (
    ByIds,
    ConnectionTest,
    ConnectorSpec,
    Deletions,
    Delta,
    EndpointLimit,
    IdScan,
    InboundEvent,
    RateLimit,
    Stream,
    Total,
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
MAX_EXCLUDED = 100  # NOT_IN values in one filter, well inside the 3,000-character body limit
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
    newest modification time seen instead of paging further (HubSpot answers 400 there).

    The new window is ``>=`` that time, so records sharing it that the old window had not
    reached are not lost; the ones it had read are left out by a ``NOT_IN`` on their ids,
    so each record is read once. The ids travel in the request itself, which stays the
    serialisable checkpoint. (More than a page of records sharing one millisecond cannot
    be windowed past: those ids would outgrow ``MAX_EXCLUDED`` and the body limit.)
    """

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
        stamped = [(_epoch_ms(r["updatedAt"]), str(r["id"])) for r in body["results"]]
        newest = max(ms for ms, _ in stamped)
        since, excluded = self._window(query)
        seen = [*(excluded if since == newest else []),
                *(rid for ms, rid in stamped if ms == newest)]
        filters: list[dict[str, Any]] = [
            {"propertyName": self.modified, "operator": "GTE", "value": str(newest)}]
        if seen:
            filters.append({"propertyName": "hs_object_id", "operator": "NOT_IN",
                            "values": list(dict.fromkeys(seen))[-MAX_EXCLUDED:]})
        query.pop("after", None)
        query["filterGroups"] = [{"filters": filters}]
        return replace(request, json=query)

    def _window(self, query: dict[str, Any]) -> tuple[int | None, list[str]]:
        """(the window's start, the ids it leaves out) from the request's filters."""
        since, excluded = None, []
        for found in dig(query, "filterGroups.0.filters") or []:
            if found.get("propertyName") == self.modified and found.get("operator") == "GTE":
                since = int(found["value"])
            elif found.get("propertyName") == "hs_object_id" and found.get("operator") == \
                    "NOT_IN":
                excluded = [str(v) for v in found.get("values", [])]
        return since, excluded


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _search_delta(stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
    modified = MODIFIED[stream.name]
    ms = _epoch_ms(since)
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
        fields=FIELDS[name],
        # the list serves archived records with archivedAt (kept about 90 days), with no
        # time filter of its own; search never shows them
        deletions=Deletions(deleted_at="archivedAt", params={"archived": "true"},
                            kept_days=90),
        # past those 90 days (or a GDPR delete) only a scan tells: ids and the three
        # bookkeeping properties HubSpot always adds
        id_scan=IdScan(params={"properties": "hs_object_id"}),
        # the list sends no count; an unfiltered search answers one with a single record
        total=Total(total="total", build=_count),
        by_ids=ByIds(build=_read_ids, max_ids=100, records="results"),
        one=f"/crm/v3/objects/{name}/{{id}}")


def _count(stream: Stream) -> Request:
    return Request("POST", f"/crm/v3/objects/{stream.name}/search",
                   json={"limit": 1, "properties": ["hs_object_id"]})


def _read_ids(stream: Stream, ids: list[str]) -> Request:
    # batch/read answers the list's own record shape; ids it no longer has are left out
    return Request("POST", f"/crm/v3/objects/{stream.name}/batch/read",
                   json={"inputs": [{"id": i} for i in ids], "properties": list(stream.fields),
                         "archived": False})


def _batch_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    body = response.json()
    errors = [{"message": e.get("message", ""), "context": e.get("context", {})}
              for e in body.get("errors", [])]
    failed = sum(max(1, len(dig(e, "context.ids") or [])) for e in errors) if errors else 0
    ids = [r["id"] for r in body.get("results", [])]
    # results come in no promised order: each is matched to its input by the id (update)
    # or e-mail (upsert) it was sent with, as are the ids an error names
    sent: dict[str, int] = {}
    for index, record in enumerate(batch):
        for key in (record.get("id"), record.get("email")):
            if key not in (None, ""):
                sent.setdefault(str(key).strip().lower(), index)
    written: dict[int, str] = {}
    for found in body.get("results", []):
        for key in (found.get("id"), dig(found, "properties.email")):
            at = sent.get(str(key or "").strip().lower())
            if at is not None and at not in written:
                written[at] = str(found["id"])
                break
    refused = {sent[str(key).strip().lower()]: e.get("message", "")
               for e in body.get("errors", []) for key in dig(e, "context.ids") or []
               if str(key).strip().lower() in sent}
    return WriteResult(ok=len(ids), failed=min(failed, len(batch) - len(ids)) if errors else 0,
                       errors=errors, ids=ids, written=written, refused=refused)


def _properties(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"properties": {k: v for k, v in r.items() if k != "id"}} for r in records]


def _write(name: str, path: str, kind: str, body: Any, key: str | None = None) -> Write:
    return Write(name=name, method="POST", path=path, batch_size=100, kind=kind, body=body,
                 result=_batch_result, key=key)


WRITES = (
    # email is the one unique property a contact upsert may match on
    _write("contacts.upsert", "/crm/v3/objects/contacts/batch/upsert", "upsert",
           lambda rs: {"inputs": [{"id": r["email"], "idProperty": "email",
                                   "properties": r} for r in rs]}, key="email"),
    _write("contacts.create", "/crm/v3/objects/contacts/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
    _write("contacts.update", "/crm/v3/objects/contacts/batch/update", "update",
           lambda rs: {"inputs": [{"id": r["id"], **p}
                                  for r, p in zip(rs, _properties(rs), strict=True)]},
           key="id"),
    _write("companies.create", "/crm/v3/objects/companies/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
    _write("deals.create", "/crm/v3/objects/deals/batch/create", "create",
           lambda rs: {"inputs": _properties(rs)}),
)


def _next_midnight(reply: Reply) -> datetime:
    """The DAILY policy resets at midnight UTC (the portal's own zone is not sent)."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)


# a 429's wait: Retry-After when sent; otherwise http.py asks the rolling budget when our
# oldest call leaves the window (the interval header would overstate a rolling wait)
RATE_WAIT = (RETRY_AFTER,)
DAILY = {"policyName": "DAILY"}
ERRORS = ErrorTable(
    "HubSpot", "hubspot", code="category", reads=lambda body: isinstance(body, dict), rules=(
        Rule(QuotaExhausted, "{provider} daily API limit reached: {said}", status=429,
             where=DAILY, resets_at=_next_midnight),
        Rule(QuotaExhausted, "{provider} daily API limit reached: {said}", code="RATE_LIMITS",
             where=DAILY, resets_at=_next_midnight),
        Rule(RateLimited, "{provider} rate limit ({policyName|burst}): {said}", status=429,
             wait=RATE_WAIT),
        Rule(RateLimited, "{provider} rate limit ({policyName|burst}): {said}",
             code="RATE_LIMITS", wait=RATE_WAIT),
        # a 401 is worth one refresh; if that fails too, http.py says reconnect, with the code
        Rule(TokenExpired, "{provider} rejected the token ({code|unauthorized}): {said}",
             status=401),
        Rule(MissingScope, "{provider}: the app lacks a required scope: {said}",
             code="MISSING_SCOPES"),
        Rule(MissingScope, "{provider}: the app lacks a required scope: {said}", status=403),
    ))


def usage(response: httpx.Response) -> Usage:
    daily = response.headers.get("x-hubspot-ratelimit-daily")
    left = response.headers.get("x-hubspot-ratelimit-daily-remaining")
    if daily and left and int(daily):
        midnight = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        return Usage(remaining_fraction=int(left) / int(daily), resets_at=midnight,
                     used=max(0, int(daily) - int(left)), limit=int(daily))
    return Usage()


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    return b64_hmac(secret, method.encode() + uri.encode() + body + timestamp.encode())


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    secret = require_secret(keys, "client_secret", "HubSpot")
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


SUBJECTS = {"contact": "contacts", "company": "companies", "deal": "deals"}


def subject(event: dict[str, Any]) -> tuple[str, str] | None:
    """``contact.creation`` with ``objectId`` 51: contact 51. A deletion has nothing left to
    read, and a merge names its records in other fields."""
    kind, _, action = str(event.get("subscriptionType", "")).partition(".")
    stream, object_id = SUBJECTS.get(kind), event.get("objectId")
    if stream is None or object_id in (None, "") or action in ("deletion", "merge",
                                                                "restore", "privacyDeletion"):
        return None
    return stream, str(object_id)


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
    connection_test=ConnectionTest(
        Request("GET", "/crm/v3/objects/contacts", {"limit": 1}),
        lambda body: "Connected to HubSpot; contacts are readable"
        + (f" (first: {dig(body, 'results.0.properties.email')})"
           if dig(body, "results.0") else "")),
    rate_limit=RateLimit(
        requests=100, per_seconds=10, daily=250_000,
        # search has a lower limit of its own, per account, on top of the general one
        # (search guide: 5 a second; 2019 changelogs said 4 per token, since raised)
        endpoints=(EndpointLimit("search", "/crm/v3/objects/*/search", 5, 1, method="POST"),)),
    # subscription types are "{object}.{change}": creation, propertyChange, deletion, merge…
    webhooks=Webhooks(verify=verify, events=events, secret_field="client_secret",
                      streams=(("contact.*", "contacts"), ("company.*", "companies"),
                               ("deal.*", "deals")),
                      subject=subject),
    classify=ERRORS.classify,
    usage=usage,
    sandbox_demo={"credentials": {"access_token": "sandbox", "client_id": "sandbox-client",
                                  "client_secret": "sandbox-secret"},
                  "settings": {}},
)

__all__ = ["SPEC", "signature_v3"]
