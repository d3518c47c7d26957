"""Mailchimp Marketing API 3.0 simulator (served under ``/mailchimp``).

Covers:

* the API at ``/3.0/...`` and at ``/{dc}/3.0/...``, the second standing for
  ``https://<dc>.api.mailchimp.com/3.0``: an API key whose ``-dc`` suffix names
  another datacenter gets 403 ``Wrong Datacenter``;
* auth: HTTP Basic (any user, key as password) or ``Authorization: Bearer|OAuth
  <token>``; missing -> 401 ``API Key Missing``, wrong -> 401 ``API Key Invalid``.
  API keys never expire; the "token expires after N calls" fault only affects
  tokens from ``/oauth2/token`` (which otherwise also never expire);
* ``GET /`` (account root), ``/ping``, ``/lists`` and ``/lists/{id}`` (3 audiences,
  with stats), members of each (default 4000 / 1500 / 500, lazily generated) with
  ``count`` (default 10, silently capped at 1000 as Mailchimp does), ``offset``,
  ``total_items``, ``status``, ``since_last_changed`` (inclusive),
  ``before_last_changed`` and ``fields`` / ``exclude_fields`` in dot notation;
* member writes: ``PUT`` upsert by subscriber hash (must be MD5 of the lowercased
  body email), ``POST`` (400 ``Member Exists``), ``PATCH``, ``DELETE`` (archives),
  ``actions/delete-permanent``; batch subscribe ``POST /lists/{id}`` (500 members
  max) with ``ERROR_CONTACT_EXISTS`` / ``ERROR_GENERIC`` per-member errors;
* errors as ``application/problem+json`` whose ``instance`` equals ``X-Request-Id``;
* the 10-simultaneous-connections limit per credential: the 11th concurrent call
  gets 429 ``Too Many Requests`` (the 429 fault renders the same; Mailchimp sends
  no Retry-After, so none is sent), the 5xx fault a 500 problem body;
* OAuth 2: ``/oauth2/authorize`` (auto-consent, PKCE accepted), ``/oauth2/token``
  (``expires_in: 0``, ``scope: null``, no refresh token) and ``/oauth2/metadata``
  whose ``api_endpoint`` is ``<sandbox>/mailchimp/us1``;
* audience webhooks: ``POST/GET /lists/{id}/webhooks`` (+ ``GET/DELETE`` one). Creating
  one first sends Mailchimp's validation ``GET`` to the URL and refuses it unless the
  answer is 200. Deliveries are unsigned form-encoded POSTs (``type``, ``fired_at``,
  ``data[...]``); Connectus authenticates them by the secret it put in the URL it
  registered (``?secret=<box.webhook_secret>``). ``POST /_sandbox/webhooks/deliver``
  sends one.

Not covered: campaigns, automations, segments, tags and notes endpoints, ``/batches``,
interest categories, merge-field definitions, member activity, ``sort_field``, and
searching members by a hash that was never served unless the email is given.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.wire import bearer_token, iso
from connectors.sandbox.mailchimp import members, oauth
from connectors.sandbox.mailchimp.data import (
    DATACENTER,
    DEMO_TOKEN,
    LISTS,
    form_encode,
    not_found,
    ok,
    problem,
    project,
)
from connectors.sandbox.mailchimp.state import Box
from connectors.sandbox.mailchimp.store import dataset, lookup, status_counts

NAME = "mailchimp"
MAX_CONNECTIONS = 10
__all__ = ["DEMO_TOKEN", "NAME", "create_router", "webhook_delivery"]
Handler = Callable[[Box, Request, re.Match[str], str], Awaitable[Response]]


def credential(request: Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return bearer_token(request, ("bearer", "oauth", "apikey"))


def _too_many() -> Response:
    return problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous "
                   "connections.")


def _api_base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/{NAME}/{DATACENTER}/3.0"


async def _root(box: Box, request: Request, m: re.Match[str], api: str) -> Response:
    total = sum(status_counts(box, list_id)["subscribed"] for list_id, *_ in LISTS)
    return ok({"account_id": "8d3a3db4d97663a9074efcc16", "login_id": "81542219",
               "account_name": "Connectus Sandbox", "email": "owner@connectus.example",
               "first_name": "Connectus", "last_name": "Owner", "username": "connectus",
               "avatar_url": "", "role": "owner", "member_since": iso(EPOCH - 400 * 86_400,
                                                                     ms=False, z=False),
               "pricing_plan_type": "monthly", "account_timezone": "Europe/London",
               "account_industry": "Software", "pro_enabled": False,
               "last_login": iso(time.time(), ms=False, z=False), "total_subscribers": total,
               "contact": {"company": "Connectus", "addr1": "1 Sandbox Way", "city": "London",
                           "country": "GB"}, "_links": []})


async def _ping(box: Box, request: Request, m: re.Match[str], api: str) -> Response:
    return ok({"health_status": "Everything's Chimpy!"})


def _list_body(box: Box, spec: tuple[str, int, str, int], api: str) -> dict[str, Any]:
    list_id, web_id, name, _ = spec
    counts = status_counts(box, list_id)
    return {
        "id": list_id, "web_id": web_id, "name": name,
        "contact": {"company": "Connectus", "address1": "1 Sandbox Way", "city": "London",
                    "country": "GB"},
        "permission_reminder": "You signed up on connectus.example.",
        "campaign_defaults": {"from_name": "Connectus", "from_email": "news@connectus.example",
                              "subject": "", "language": "en"},
        "date_created": iso(EPOCH - 500 * 86_400, ms=False, z=False), "list_rating": 3,
        "email_type_option": False, "visibility": "pub", "double_optin": False,
        "stats": {"member_count": counts.get("subscribed", 0),
                  "unsubscribe_count": counts.get("unsubscribed", 0),
                  "cleaned_count": counts.get("cleaned", 0),
                  "member_count_since_send": counts.get("subscribed", 0),
                  "campaign_count": 0, "merge_field_count": 5},
        "_links": [{"rel": "self", "href": f"{api}/lists/{list_id}", "method": "GET"},
                   {"rel": "members", "href": f"{api}/lists/{list_id}/members", "method": "GET"}],
    }


async def _lists(box: Box, request: Request, m: re.Match[str], api: str) -> Response:
    count, offset = members.paging(request)
    body = {"lists": [_list_body(box, spec, api) for spec in LISTS[offset: offset + count]],
            "total_items": len(LISTS),
            "constraints": {"may_create": True, "max_instances": 5,
                            "current_total_instances": len(LISTS)},
            "_links": [{"rel": "self", "href": f"{api}/lists", "method": "GET"}]}
    params = request.query_params
    return ok(project(body, params.get("fields"), params.get("exclude_fields")))


async def _one_list(box: Box, request: Request, m: re.Match[str], api: str) -> Response:
    spec = next(s for s in LISTS if s[0] == m.group("list"))
    params = request.query_params
    return ok(project(_list_body(box, spec, api), params.get("fields"),
                      params.get("exclude_fields")))


_L = r"lists/(?P<list>[0-9a-f]{10})"
_ROUTES: list[tuple[frozenset[str], re.Pattern[str], Handler]] = [
    (frozenset({"GET"}), re.compile(r""), _root),
    (frozenset({"GET"}), re.compile(r"ping"), _ping),
    (frozenset({"GET"}), re.compile(r"lists"), _lists),
    (frozenset({"GET"}), re.compile(_L), _one_list),
    (frozenset({"POST"}), re.compile(_L), members.batch_subscribe),
    (frozenset({"GET"}), re.compile(_L + r"/members"), members.list_members),
    (frozenset({"POST"}), re.compile(_L + r"/members"), members.create_member),
    (frozenset({"GET", "PUT", "PATCH", "DELETE"}),
     re.compile(_L + r"/members/(?P<member>[^/]+)"), members.one_member),
    (frozenset({"POST"}), re.compile(_L + r"/members/(?P<member>[^/]+)/actions/delete-permanent"),
     members.delete_permanent),
    (frozenset({"GET", "POST"}), re.compile(_L + r"/webhooks"), members.webhooks),
    (frozenset({"GET", "DELETE"}), re.compile(_L + r"/webhooks/(?P<hook>\w+)"), members.webhook),
]


async def _route(box: Box, request: Request, rest: str) -> Response:
    allowed: set[str] = set()
    for methods, pattern, handler in _ROUTES:
        match = pattern.fullmatch(rest)
        if match is None:
            continue
        if "list" in match.groupdict() and match.group("list") not in {s[0] for s in LISTS}:
            return not_found()
        if request.method not in methods:
            allowed |= methods
            continue
        try:
            return await handler(box, request, match, _api_base(request))
        except members.Invalid as exc:
            return problem(400, exc.title, exc.detail, exc.errors)
    if allowed:
        return problem(405, "Method Not Allowed", "The requested method and resource are not "
                       "compatible. See the Allow header for this resource's available methods.",
                       headers={"Allow": ", ".join(sorted(allowed))})
    return not_found()


async def _dispatch(box: Box, request: Request, dc: str | None, rest: str) -> Response:
    box.log(request)
    key = credential(request)
    # Connections are counted from the moment they open, so the slot is taken before any
    # work (or injected latency) and given back whatever the outcome.
    inflight = box.state.inflight
    slot = key or ""
    busy = inflight.get(slot, 0)
    inflight[slot] = busy + 1
    try:
        fault = await box.before_call()
        if fault == "429":
            return _too_many()
        if fault == "5xx":
            return problem(500, "Internal Server Error", "An unexpected internal error has "
                           "occurred. Please contact Support for more information.")
        if key is None:
            return problem(401, "API Key Missing", "Your request did not include an API key.")
        store = oauth.tokens(box)
        # OAuth tokens carry no datacenter (it comes from /oauth2/metadata); keys end in one.
        key_dc = key.rpartition("-")[2] if "-" in key else None
        if store.peek(key) is not None:
            key_dc = DATACENTER
        if dc is not None and key_dc is not None and key_dc != dc:
            return problem(403, "Wrong Datacenter", "The API key provided is linked to a "
                           f"different datacenter. Use https://{key_dc}.api.mailchimp.com/3.0/.")
        if store.check(key) != "ok":
            return problem(401, "API Key Invalid", "Your API key may be invalid, or you've "
                           "attempted to access the wrong datacenter.")
        if busy >= MAX_CONNECTIONS:
            return _too_many()
        return await _route(box, request, rest.strip("/"))
    finally:
        inflight[slot] -= 1
        if inflight[slot] <= 0:
            del inflight[slot]


def webhook_delivery(box: Box, target_url: str,
                     payload: Any) -> tuple[dict[str, str], bytes]:
    """An audience webhook POST: form-encoded, unsigned (the secret is in ``target_url``).

    ``payload`` is ``{"type": ..., "data": {...}}``; ``fired_at`` defaults to now in
    Mailchimp's ``YYYY-MM-DD HH:MM:SS``; without ``data`` it describes member 0 of
    the first audience.
    """
    event = dict(payload or {})
    event.setdefault("type", "subscribe")
    event.setdefault("fired_at", datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S"))
    if "data" not in event:
        list_id = LISTS[0][0]
        first = dataset(box).generated(list_id, 0)
        _, member, _, _ = lookup(box, list_id, first["id"])
        member = member or first
        event["data"] = {"id": member["id"], "list_id": list_id,
                         "email": member["email_address"], "email_type": member["email_type"],
                         "ip_opt": member["ip_opt"], "web_id": member["web_id"],
                         "merges": {"EMAIL": member["email_address"], **member["merge_fields"]}}
    ordered = {"type": event.pop("type"), "fired_at": event.pop("fired_at"), **event}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "MailChimp.com"}
    return headers, form_encode(ordered)


def create_router(box: Box) -> APIRouter:
    router = APIRouter()
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    oauth.add_routes(router, box)

    @router.api_route("/3.0", methods=methods)
    @router.api_route("/3.0/{rest:path}", methods=methods)
    async def api(request: Request, rest: str = "") -> Response:
        return await _dispatch(box, request, None, rest)

    @router.api_route("/{dc}/3.0", methods=methods)
    @router.api_route("/{dc}/3.0/{rest:path}", methods=methods)
    async def api_dc(request: Request, dc: str, rest: str = "") -> Response:
        return await _dispatch(box, request, dc, rest)

    @router.api_route("/{rest:path}", methods=methods)
    async def unknown(request: Request, rest: str) -> Response:
        box.log(request)
        return not_found()

    return router
