"""Mailchimp: Marketing API 3.0 (audiences and their members).

Odd parts, in code below: the host depends on the account's datacenter, the
``-us6`` suffix of an API key (OAuth tokens carry none: it comes from the metadata
endpoint after the exchange); paging is offset/count with ``total_items``; errors
are ``application/problem+json`` whose human ``title`` ("API Key Invalid") is the
code; the only rate limit is 10 simultaneous connections, answered with a bare 429
and no Retry-After; OAuth tokens never expire and cannot be refreshed, and API
keys cannot either, so a 401 means a person must fix the credential; webhooks are
unsigned form posts, trusted by a secret we put in the URL, and carry no event id.

Deletions: archived members are listed with ``status=archived`` (since a time); a
permanently deleted member is found only by the id scan (``fields=members.id``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx

from connectors.auth import BasicKeyScheme, OAuth2
from connectors.error_table import ErrorTable, Reply, Rule
from connectors.errors import BadRequest, MissingScope, NeedsPerson, RateLimited, ReconnectNeeded
from connectors.paginators import Offset
from connectors.request import Request, dig
from connectors.spec import (
    ConnectionTest,
    ConnectorSpec,
    Deletions,
    Delta,
    IdScan,
    InboundEvent,
    RateLimit,
    Stream,
    Total,
    WebhookReply,
    WebhookRequest,
    Webhooks,
    Write,
    WriteResult,
)
from connectors.webhooks import WebhookMalformed, require_equal, require_secret
from store.errors import ValidationFailed

DC = re.compile(r"[a-z]+\d+")
KEY_HELP = "Mailchimp API keys end in their datacenter, e.g. 0123…cdef-us6"


def key_dc(api_key: str) -> str | None:
    """The datacenter of an API key: what follows its last dash."""
    head, dash, dc = api_key.strip().rpartition("-")
    return dc if head and dash and DC.fullmatch(dc) else None


@dataclass(frozen=True)
class MailchimpKeyScheme(BasicKeyScheme):
    """An API key (Basic auth), or an OAuth token with the dc its metadata named."""

    def validate(self, credentials: dict[str, Any]) -> None:
        if str(credentials.get("access_token") or "").strip():
            if not (credentials.get("dc") or credentials.get("api_endpoint")):
                raise ValidationFailed("an OAuth token needs the datacenter its metadata names",
                                       field="credentials.dc")
            return
        super().validate(credentials)
        if key_dc(str(credentials["api_key"])) is None:
            raise ValidationFailed(f"has no datacenter suffix; {KEY_HELP}",
                                   field="credentials.api_key")


def context(credentials: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    if credentials.get("access_token"):
        dc = credentials.get("dc") or urlsplit(str(credentials.get("api_endpoint") or "")) \
            .netloc.split(".")[0]
        if not dc:
            raise ValidationFailed("is missing: reconnect through OAuth so Connectus can read "
                                   "the account's datacenter", field="credentials.dc")
        return {"dc": dc}
    dc = key_dc(str(credentials.get("api_key") or ""))
    if dc is None:
        raise ValidationFailed(f"has no datacenter suffix; {KEY_HELP}",
                               field="credentials.api_key")
    return {"dc": dc}


def _since(cursor: str) -> str:
    # The docs' format: seconds and a +00:00 offset (2015-10-21T15:41:36+00:00).
    moment = datetime.fromisoformat(cursor.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


STREAMS = (
    # A handful of audiences: read whole each time (since_date_created misses edits).
    Stream(name="lists", path="/lists", records="lists", paginator=Offset(records_path="lists"),
           params={"exclude_fields": "lists._links,_links"}, page_size=1000,
           fields=("id", "name", "date_created", "stats")),
    Stream(name="members", path="/lists/{list_id}/members", records="members",
           paginator=Offset(records_path="members"), settings=("list_id",),
           # oldest change first, so the newest last_changed of a page is a safe checkpoint
           params={"sort_field": "last_changed", "sort_dir": "ASC",
                   "exclude_fields": "members._links,_links"},
           cursor_field="last_changed", delta=Delta(param="since_last_changed", format=_since),
           page_size=1000,  # Mailchimp's maximum count
           fields=("id", "email_address", "status", "merge_fields", "last_changed"),
           # archiving (DELETE) keeps the member with status archived, the time in
           # last_changed; the default list leaves archived members out
           deletions=Deletions(deleted_at="last_changed", params={"status": "archived"},
                               since_param="since_last_changed", format=_since),
           # a permanent delete leaves nothing to list: only an id scan tells. Unsorted, so
           # an edit mid-scan moves nothing; total_items catches a delete shifting the offsets
           id_scan=IdScan(params={"fields": "members.id,total_items", "exclude_fields": None,
                                  "sort_field": None, "sort_dir": None},
                          total="total_items"),
           # no batch read by id: reconciliation re-reads the list for the ids it lacks
           total=Total(total="total_items", params={
               "count": 1, "offset": 0, "fields": "total_items", "exclude_fields": None,
               "sort_field": None, "sort_dir": None})),
)


def _batch_result(response: httpx.Response, batch: list[dict[str, Any]]) -> WriteResult:
    body = response.json()
    done = [*body.get("new_members", []), *body.get("updated_members", [])]
    errors = [{"email_address": e.get("email_address"), "code": e.get("error_code"),
               "message": e.get("error", ""), "field": e.get("field") or None}
              for e in body.get("errors", [])]
    # members and errors name the address they were sent with (Mailchimp compares it
    # without case)
    sent: dict[str, int] = {}
    for index, record in enumerate(batch):
        sent.setdefault(str(record.get("email_address") or "").strip().lower(), index)
    written = {sent[key]: str(m.get("id") or "") for m in done
               if (key := str(m.get("email_address") or "").strip().lower()) in sent}
    refused = {sent[key]: f"{e['code'] or 'error'}: {e['message']}" for e in errors
               if (key := str(e["email_address"] or "").strip().lower()) in sent}
    return WriteResult(ok=len(done), failed=len(errors), errors=errors,
                       ids=[m["id"] for m in done if m.get("id")], written=written,
                       refused=refused)


WRITES = (
    # Batch subscribe/update: 500 members a call. Records pass through as given: status
    # (or status_if_new) is the caller's consent decision, never defaulted here.
    Write(name="members.upsert", method="POST", path="/lists/{list_id}", batch_size=500,
          body=lambda rs: {"members": rs, "update_existing": True}, result=_batch_result,
          kind="upsert", settings=("list_id",), key="email_address"),
)


def _code(body: Any) -> str:
    """"API Key Invalid" on the wire, APIKeyInvalid in the glossary: compare without spaces."""
    return str(body.get("title") or "").replace(" ", "") if isinstance(body, dict) else ""


def _said(body: Any) -> str | None:
    return f"{body.get('title')}: {body.get('detail', '')}" if _code(body) else None


def _problems(body: Any) -> dict[str, Any]:
    """The per-field complaints of a 400, and the datacenter a WrongDatacenter names."""
    errors = body.get("errors") if isinstance(body, dict) else None
    listed = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors or []
                       if isinstance(e, dict))
    right = re.search(r"https://(\w+)\.api\.mailchimp\.com",
                      str(body.get("detail", "")) if isinstance(body, dict) else "")
    return {"problems": f" ({listed})" if listed else "",
            "right_dc": right.group(1) if right else None}


def _sent_basic(reply: Reply) -> bool:
    """Which credential was refused decides the advice: keys go in Basic auth, tokens in
    Bearer."""
    try:
        return reply.response.request.headers.get("authorization", "").startswith("Basic ")
    except RuntimeError:  # a response built without a request (tests)
        return False


# Neither keys nor Mailchimp OAuth tokens can be refreshed: a 401 means a person must act.
FIX_KEY = ("Fix the API key: paste a current key (Mailchimp > Profile > Extras > API keys) "
           "into credentials.api_key.")
REOAUTH = "Reconnect the integration through Mailchimp's OAuth consent screen."
KEY_REFUSED = "{provider} refused the API key: {said}"
TOKEN_REFUSED = "{provider} refused the token: {said}"
BAD_KEY = "APIKeyInvalid|APIKeyMissing"
WRONG_DC = ("{provider}: the credential belongs to datacenter {right_dc|another datacenter}, "
            "not the one called: {said}")
# More than 10 simultaneous connections (at high volume even a bare 403): no Retry-After
# is sent, so back off exponentially.
BUSY = "{provider} connection limit hit: {said}"
ERRORS = ErrorTable("Mailchimp", "mailchimp", code=_code, said=_said, fields=_problems, rules=(
    Rule(ReconnectNeeded, "{provider}: the user behind this credential is disabled: {said}",
         code="UserDisabled", action="Reconnect with the key or OAuth consent of an active "
         "Mailchimp user."),
    Rule(ReconnectNeeded, KEY_REFUSED, status=401, when=_sent_basic, action=FIX_KEY),
    Rule(ReconnectNeeded, KEY_REFUSED, code=BAD_KEY, when=_sent_basic, action=FIX_KEY),
    Rule(ReconnectNeeded, TOKEN_REFUSED, status=401, action=REOAUTH),
    Rule(ReconnectNeeded, TOKEN_REFUSED, code=BAD_KEY, action=REOAUTH),
    Rule(BadRequest, WRONG_DC, code="WrongDatacenter", action="Fix the datacenter: the key "
         "must end in -{right_dc|another datacenter} (credentials.api_key / credentials.dc)."),
    Rule(RateLimited, BUSY, status=429),
    Rule(RateLimited, BUSY, code="TooManyRequests"),
    Rule(RateLimited, BUSY, status=403, code=""),
    Rule(NeedsPerson, "{provider}: {said}", code="ComplianceRelated", action="Contact "
         "Mailchimp: the account is under compliance review and its API is paused."),
    Rule(MissingScope, "{provider}: the user's role does not allow this: {said}", status=403),
    Rule(BadRequest, "{provider} refused the request: {said}{problems}",
         status=(400, 422, 426)),
))  # 404, 5xx: the defaults fit


# -- webhooks ------------------------------------------------------------------------------

def verify(request: WebhookRequest, keys: dict[str, Any]) -> None:
    # Mailchimp signs nothing and sends no timestamp worth trusting: the only proof is the
    # ?secret= we put in the URL we registered. Its validation GET carries it too.
    secret = require_secret(keys, "webhook_secret", "Mailchimp")
    presented = parse_qs(urlsplit(request.url).query).get("secret", [None])[0]
    require_equal(secret, presented, "the secret in the webhook URL")


def handshake(request: WebhookRequest, keys: dict[str, Any]) -> WebhookReply | None:
    """Saving a webhook in Mailchimp first GETs the URL: answer 200 if the secret is ours."""
    if request.method != "GET":
        return None
    verify(request, keys)
    return WebhookReply(content_type="text/plain", body=b"")


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style ``data[merges][FNAME]=Ada`` into ``{"data": {"merges": {"FNAME": "Ada"}}}``."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key) or [key]
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def events(request: WebhookRequest) -> list[InboundEvent]:
    if request.method.upper() != "POST":
        return []  # the validation GET Mailchimp sends when the webhook is saved
    if not request.body.strip():
        raise WebhookMalformed("the Mailchimp webhook body is empty")
    try:
        text = request.body.decode()
    except UnicodeDecodeError:
        raise WebhookMalformed("the Mailchimp webhook body is not UTF-8 form data") from None
    form = _nest(parse_qsl(text, keep_blank_values=True))
    if not isinstance(form.get("type"), str) or not form["type"]:
        raise WebhookMalformed("the Mailchimp webhook body has no type")
    data: dict[str, Any] = form["data"] if isinstance(form.get("data"), dict) else {}
    # No event id on the wire: hash what identifies one. Two identical changes to one
    # member within the same second (fired_at has seconds) collapse into one event.
    who = next((str(data[k]) for k in ("id", "new_id", "email", "new_email", "old_email")
                if data.get(k)), "")
    key = "|".join([str(form.get("type", "")), str(form.get("fired_at", "")),
                    str(data.get("list_id", "")), who])
    event_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    return [InboundEvent(event_id, form["type"], form)]


def _describe_root(body: Any) -> str:
    name = dig(body, "account_name") or "an unnamed account"
    total = dig(body, "total_subscribers")
    return f"Connected to Mailchimp account {name}" + (
        f" ({total:,} subscribed contacts)" if isinstance(total, int) else "")


SPEC = ConnectorSpec(
    name="mailchimp",
    base_url="https://{dc}.api.mailchimp.com/3.0",
    sandbox_base="/mailchimp/{dc}/3.0",
    auth=MailchimpKeyScheme(oauth=OAuth2(
        authorize_url="https://login.mailchimp.com/oauth2/authorize",
        token_url="https://login.mailchimp.com/oauth2/token",
        scopes=(), pkce=False, refresh=False,  # no scopes, no refresh tokens, expires_in: 0
        client_auth="client_secret_post", metadata_url="metadata")),
    sandbox_oauth=("/mailchimp/oauth2/authorize", "/mailchimp/oauth2/token"),
    streams=STREAMS,
    writes=WRITES,
    # the API root answers with the account's details
    connection_test=ConnectionTest(Request("GET", "/"), _describe_root),
    rate_limit=RateLimit(concurrency=10),  # no per-minute quota is published
    # every list event but "campaign" is about one member
    webhooks=Webhooks(verify=verify, events=events, handshake=handshake,
                      streams=tuple((kind, "members") for kind in (
                          "subscribe", "unsubscribe", "profile", "upemail", "cleaned"))),
    classify=ERRORS.classify,
    context=context,
    sandbox_demo={"credentials": {"api_key": "sandbox-us1",
                                  "webhook_secret": "sandbox-webhook-secret"},
                  "settings": {"list_id": "4ca5becb8d"}},
)

__all__ = ["SPEC", "key_dc"]
