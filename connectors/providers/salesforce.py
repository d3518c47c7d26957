"""Salesforce: REST API v62.0 on the org's own instance (Account, Contact, Lead, Opportunity).

Odd parts, in code below: the base URL is per org (``instance_url`` from the token
response); reads are SOQL with ``nextRecordsUrl``/``done`` paging and the page size
in a ``Sforce-Query-Options`` header; deltas are a different SOQL (``queryAll``, so
deleted rows come back with ``IsDeleted = true``); errors are JSON *arrays*; there
is no 429: "slow down" is 403 ``REQUEST_LIMIT_EXCEEDED``, either the concurrent
long-request limit (retry) or the org's rolling 24-hour allocation (stop); tokens
carry no ``expires_in`` (a 401 ``INVALID_SESSION_ID`` is the cue to refresh);
webhooks are unsigned SOAP Outbound Messages, trusted by org id and a URL secret.

Deletions: ``queryAll ... WHERE IsDeleted = true`` (the recycle bin); past it, the
id scan ``SELECT Id`` with ``totalSize`` to check it saw them all.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.parsers import expat

import httpx

from connectors.auth import BearerScheme, OAuth2
from connectors.error_table import ErrorTable, Rule, Wait
from connectors.errors import MissingScope, QuotaExhausted, RateLimited, TokenExpired
from connectors.paginators import NextUrl, Paginator
from connectors.request import Request, dig
from connectors.spec import (
    ByIds,
    ConnectionTest,
    ConnectorSpec,
    Deletions,
    Delta,
    IdScan,
    InboundEvent,
    RateLimit,
    Stream,
    Total,
    Usage,
    WebhookReply,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import (
    WebhookMalformed,
    WebhookRejected,
    identifier,
    require_equal,
    require_secret,
)

VERSION = "v62.0"
API = f"/services/data/{VERSION}"
_SYSTEM = ("OwnerId", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted")
# set by Salesforce, never by a write (Name of a person is compound: FirstName + LastName)
_READ_ONLY = {"contacts": ("Name",), "leads": ("Name",)}
# Standard fields only: a custom field (…__c) would make the query fail in orgs without it.
OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "accounts": ("Account", ("Id", "Name", "Industry", "Phone", "Website", "BillingCity",
                             "BillingCountry", "NumberOfEmployees", "AnnualRevenue")),
    "contacts": ("Contact", ("Id", "FirstName", "LastName", "Name", "Email", "Phone", "Title",
                             "AccountId", "LeadSource")),
    "leads": ("Lead", ("Id", "FirstName", "LastName", "Name", "Company", "Email", "Status",
                       "LeadSource", "Phone")),
    "opportunities": ("Opportunity", ("Id", "Name", "StageName", "CloseDate", "Amount",
                                      "Probability", "AccountId", "LeadSource")),
}
PAGES = NextUrl("nextRecordsUrl", done_path="done", page_size_header="Sforce-Query-Options",
                page_size_format="batchSize={}")
OUTBOUND_NS = "{http://soap.sforce.com/2005/09/outbound}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# What the webhook endpoint must answer, or Salesforce redelivers for 24 hours.
ACK = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
       b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse '
       b'xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
       b"</soapenv:Body></soapenv:Envelope>")


def _soql(stream: Stream, where: str = "") -> str:
    sobject = OBJECTS[stream.name][0]
    # Always ascending by SystemModstamp, so the newest stamp of a page is a safe checkpoint.
    # Every part is ours (field names, object name, a reformatted timestamp): no user text.
    return (f"SELECT {', '.join(stream.fields)} FROM {sobject}{where} "  # noqa: S608
            "ORDER BY SystemModstamp ASC")


def _soql_time(since: str) -> str:
    # The documented dateTime literal has whole seconds: floor, so nothing in that second is lost.
    moment = datetime.fromisoformat(since.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _delta(stream: Stream, since: str, request: Request) -> tuple[Request, Paginator]:
    # >= not >: stamps have one-second resolution and bulk updates share a second, so a
    # page boundary can fall inside one; re-reading that second costs a few duplicate Ids.
    # queryAll, so rows deleted since the cursor come back too (IsDeleted = true).
    soql = _soql(stream, f" WHERE SystemModstamp >= {_soql_time(since)}")
    return replace(request, path=f"{API}/queryAll", params={"q": soql}), stream.paginator


def _deleted(stream: Stream, since: str) -> Request:
    # deleted rows sit in the recycle bin (about 15 days) and only queryAll shows them;
    # a delete stamps SystemModstamp, so it is the deletion time
    sobject = OBJECTS[stream.name][0]
    soql = (f"SELECT Id, SystemModstamp FROM {sobject} WHERE IsDeleted = true "  # noqa: S608
            f"AND SystemModstamp >= {_soql_time(since)} ORDER BY SystemModstamp ASC")
    return Request("GET", f"{API}/queryAll", {"q": soql})


def _ids(stream: Stream) -> Request:
    # query, not queryAll: the rows that exist; past the recycle bin only this tells
    sobject = OBJECTS[stream.name][0]
    return Request("GET", f"{API}/query", {"q": f"SELECT Id FROM {sobject}"})  # noqa: S608


def _count(stream: Stream) -> Request:
    sobject = OBJECTS[stream.name][0]
    return Request("GET", f"{API}/query", {"q": f"SELECT COUNT() FROM {sobject}"})  # noqa: S608


def _read_ids(stream: Stream, ids: list[str]) -> Request:
    # sObject Collections GET: the records in the order asked, null for one that is gone;
    # 200 ids of 18 characters keep the URL well inside its limit
    sobject = OBJECTS[stream.name][0]
    return Request("GET", f"{API}/composite/sobjects/{sobject}",
                   {"ids": ",".join(ids), "fields": ",".join(stream.fields)})


def _stream(name: str) -> Stream:
    fields = (*OBJECTS[name][1], *_SYSTEM)
    stream = Stream(name=name, path=f"{API}/query", records="records", paginator=PAGES,
                    primary_key="Id", cursor_field="SystemModstamp",
                    delta=Delta(build=_delta), page_size=2000, fields=fields,
                    deletions=Deletions(deleted_at="SystemModstamp", build=_deleted,
                                        kept_days=15),
                    id_scan=IdScan(build=_ids, total="totalSize"),
                    total=Total(build=_count, total="totalSize"),
                    by_ids=ByIds(build=_read_ids, max_ids=200),
                    read_only=(*_READ_ONLY.get(name, ()), "CreatedDate", "LastModifiedDate",
                               "SystemModstamp", "IsDeleted"))
    return replace(stream, params={"q": _soql(stream)})


# -- writes: sObject Collections, 200 records a call, per-record results in request order --

def _collection_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    ok, errors, ids = 0, [], []
    written: dict[int, str] = {}
    refused: dict[int, str] = {}
    for index, (item, record) in enumerate(zip(response.json(), batch, strict=False)):
        if item.get("success"):
            ok += 1
            ids.append(item["id"])
            written[index] = str(item["id"])
            continue
        said = []
        for error in item.get("errors") or [{}]:
            errors.append({"index": index, "code": error.get("statusCode"),
                           "message": error.get("message", ""), "fields": error.get("fields"),
                           "record": record.get("Id") or record.get("Email")
                           or record.get("Name")})
            said.append(f"{error.get('statusCode') or 'error'}: {error.get('message', '')}")
        refused[index] = "; ".join(said)
    return WriteResult(ok=ok, failed=len(batch) - ok, errors=errors, ids=ids, written=written,
                       refused=refused)


def _typed(sobject: str, records: list[dict[str, Any]], drop_id: bool) -> list[dict[str, Any]]:
    return [{"attributes": {"type": sobject},
             **{k: v for k, v in r.items() if not (drop_id and k in ("Id", "id"))}}
            for r in records]


def _writes(name: str) -> tuple[Write, ...]:
    sobject = OBJECTS[name][0]
    path = f"{API}/composite/sobjects"
    return (
        Write(f"{name}.create", "POST", path, 200, kind="create", result=_collection_result,
              body=lambda rs: {"allOrNone": False, "records": _typed(sobject, rs, True)}),
        Write(f"{name}.update", "PATCH", path, 200, kind="update", result=_collection_result,
              body=lambda rs: {"allOrNone": False, "records": _typed(sobject, rs, False)},
              key="Id"),
        # records carry the external-id field (setting external_id_field), never Id
        Write(f"{name}.upsert", "PATCH", f"{path}/{sobject}/{{external_id_field}}", 200,
              kind="upsert", result=_collection_result, key="{external_id_field}",
              body=lambda rs: {"allOrNone": False, "records": _typed(sobject, rs, True)}),
    )


# -- errors and usage ---------------------------------------------------------------------

ERRORS = ErrorTable(
    "Salesforce", "salesforce", code="0.errorCode", said="0.message", rules=(
        # tokens carry no expires_in: a refused session is the cue to refresh once
        Rule(TokenExpired, "{provider} refused the session ({code|unauthorized}): {said}",
             status=401),
        Rule(TokenExpired, "{provider} refused the session ({code}): {said}",
             code="INVALID_SESSION_ID"),
        # The allocation is a rolling 24 hours: capacity comes back as calls made a day
        # ago age out, not at midnight, so look again in an hour.
        Rule(QuotaExhausted, "{provider} org API allocation used up ({said}); it is a rolling "
             "24-hour window, so calls free up gradually", code="REQUEST_LIMIT_EXCEEDED",
             said="TotalRequests", wait=(Wait(fixed=3600),),
             action="Wait for the org's rolling 24-hour API allocation to free up (Setup > "
             "System Overview shows it), or buy more."),
        # the concurrent long-running-request limit: no Retry-After, back off and retry
        Rule(RateLimited, "{provider} concurrency limit hit: {said}",
             code="REQUEST_LIMIT_EXCEEDED"),
        Rule(MissingScope, "{provider} refused access ({code}): {said}", status=403),
    ))  # 400 MALFORMED_QUERY/INVALID_FIELD, 404, 5xx: the defaults fit


def usage(response: httpx.Response) -> Usage:
    found = re.search(r"api-usage=(\d+)/(\d+)", response.headers.get("sforce-limit-info", ""))
    if not found or not int(found.group(2)):
        return Usage()
    used, allocation = int(found.group(1)), int(found.group(2))
    left = max(0, allocation - used)
    return Usage(remaining_fraction=left / allocation, used=used, limit=allocation)


def context(credentials: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {"external_id_field": settings.get("external_id_field")
                             or "External_Id__c"}
    if credentials.get("instance_url"):
        extra["instance_url"] = str(credentials["instance_url"]).rstrip("/")
    return extra


# -- webhooks: Outbound Messages -----------------------------------------------------------

def _org_id(keys: dict[str, Any]) -> str:
    org = keys.get("org_id")
    if not org and keys.get("id"):  # the token's identity URL: …/id/{orgId}/{userId}
        org = str(keys["id"]).rstrip("/").split("/")[-2]
    if not org:
        raise WebhookRejected("no org_id is configured for this Salesforce integration")
    return str(org)


def _refuse_dtd(*_: Any) -> None:
    # Salesforce never sends one: this is an attack on the parser, not a malformed message
    raise WebhookRejected("the Outbound Message carries a DTD")


def _parse(body: bytes) -> ET.Element:
    # A SOAP message never carries a DTD. Refusing one in a first expat pass (in whatever
    # encoding the body declares) rules out entity expansion, as defusedxml would.
    scan = expat.ParserCreate()
    scan.StartDoctypeDeclHandler = _refuse_dtd
    scan.EntityDeclHandler = _refuse_dtd
    try:
        scan.Parse(body, True)
        root = ET.fromstring(body)  # noqa: S314 - DTDs were refused just above
    except (expat.ExpatError, ET.ParseError, ValueError, LookupError):
        # LookupError, ValueError: an encoding declaration Python does not know
        raise WebhookMalformed("the Outbound Message is not well-formed XML") from None
    found = root.find(f".//{OUTBOUND_NS}notifications")
    if found is None:
        raise WebhookMalformed("the body is not a Salesforce Outbound Message")
    return found


def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    # Salesforce signs nothing: the secret is the ?token= we put in the endpoint URL, and
    # the envelope must name our org. No timestamp is sent, so there is no replay window;
    # Notification Ids dedupe the redeliveries Salesforce makes for up to 24 hours.
    secret = require_secret(keys, "webhook_secret", "Salesforce")
    token = parse_qs(urlsplit(request.url).query).get("token", [None])[0]
    require_equal(secret, token, "the token in the webhook URL")
    # the URL token is the proof; a body that is not an Outbound Message is then malformed
    org = (_parse(request.body).findtext(f"{OUTBOUND_NS}OrganizationId") or "").strip()
    # 15- and 18-character forms of one Id share the first 15 characters.
    require_equal(_org_id(keys)[:15], org[:15], "OrganizationId")


def events(request: WebhookRequest) -> list[InboundEvent]:
    root = _parse(request.body)
    common = {"organization_id": root.findtext(f"{OUTBOUND_NS}OrganizationId"),
              "action_id": root.findtext(f"{OUTBOUND_NS}ActionId")}
    found = []
    for note in root.findall(f"{OUTBOUND_NS}Notification"):
        sobject_el = note.find(f"{OUTBOUND_NS}sObject")
        record: dict[str, Any] = {}
        sobject = "sObject"
        if sobject_el is not None:
            sobject = sobject_el.get(XSI_TYPE, "sf:sObject").split(":")[-1]
            for child in sobject_el:
                name = child.tag.split("}")[-1]
                record[name] = None if child.get(XSI_NIL) == "true" else child.text
        event_id = identifier((note.findtext(f"{OUTBOUND_NS}Id") or "").strip(),
                              "Notification Id", "Salesforce")
        found.append(InboundEvent(event_id, f"{sobject}.outbound_message",
                                  {**common, "sobject": sobject, "record": record}))
    return found


def _describe_limits(body: Any) -> str:
    left, most = dig(body, "DailyApiRequests.Remaining"), dig(body, "DailyApiRequests.Max")
    if left is None or most is None:
        return "Connected to Salesforce; the org's limits are readable"
    return f"Connected to Salesforce; {left:,} of {most:,} daily API requests left"


SPEC = ConnectorSpec(
    name="salesforce",
    base_url="{instance_url}",
    sandbox_base="/salesforce",
    auth=BearerScheme(required=("access_token", "instance_url"), oauth=OAuth2(
        authorize_url="https://login.salesforce.com/services/oauth2/authorize",
        token_url="https://login.salesforce.com/services/oauth2/token",
        # refresh_token: without it Salesforce issues no refresh token at all
        scopes=("api", "refresh_token", "id"), pkce=True, client_auth="client_secret_post")),
    sandbox_oauth=("/salesforce/services/oauth2/authorize", "/salesforce/services/oauth2/token"),
    streams=tuple(_stream(name) for name in OBJECTS),
    writes=tuple(w for name in OBJECTS for w in _writes(name)),
    connection_test=ConnectionTest(Request("GET", f"{API}/limits"), _describe_limits),
    # Allocation = 100,000 + per-licence adder (Enterprise); the org's real figure comes back
    # in Sforce-Limit-Info on every call. 25 concurrent long-running requests in production.
    rate_limit=RateLimit(daily=100_000, concurrency=25),
    # an Outbound Message names its sObject: "Contact.outbound_message" concerns contacts
    webhooks=Webhooks(verify=verify, events=events,
                      streams=tuple((f"{sobject}.*", stream)
                                    for stream, (sobject, _) in OBJECTS.items()),
                      ack=WebhookReply(content_type="text/xml; charset=utf-8", body=ACK)),
    classify=ERRORS.classify,
    usage=usage,
    account_fields=("instance_url",),  # one org, one allocation, whichever token is used
    context=context,
    sandbox_demo={"credentials": {"access_token": "sandbox",
                                  "instance_url": "{sandbox_url}/salesforce",
                                  "client_id": "sandbox-client", "client_secret": "sandbox-secret",
                                  "webhook_secret": "sandbox-webhook-secret"},
                  "settings": {"org_id": "00D000000000001EAA"}},
)

__all__ = ["ACK", "SPEC", "VERSION"]
