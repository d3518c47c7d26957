"""Mailchimp simulator data: audiences, generated members, partial responses, problem
bodies and the webhook form encoding. Pure functions only; state lives in
``store``.

Generated member ``i`` has status ``STATUS_PATTERN[i % 20]`` (16 subscribed, 2
unsubscribed, 1 cleaned, 1 pending in every 20), so a ``status=`` filter is index
arithmetic like everything else.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any, TypeGuard
from urllib.parse import urlencode

from fastapi.responses import JSONResponse, Response

from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.people import person
from connectors.sandbox.kit.wire import iso

DEMO_TOKEN = "sandbox-us1"  # an API key: anything, a dash, then the datacenter it lives in
DATACENTER = "us1"
# (id, web_id, name, default member count): list ids are 10 hex characters, as Mailchimp's are.
LISTS = [("4ca5becb8d", 101_001, "Connectus Newsletter", 4000),
         ("8d3c9a1f27", 101_002, "Customers", 1500),
         ("b5e0f1d2c3", 101_003, "Beta Testers", 500)]
DEFAULT_COUNTS = {list_id: count for list_id, _, _, count in LISTS}
STATUS_PATTERN = ["subscribed"] * 16 + ["unsubscribed", "unsubscribed", "cleaned", "pending"]
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_INDEX_IN_EMAIL = re.compile(r"\.(\d+)@")


def residues(status: str) -> tuple[int, ...]:
    return tuple(i for i, s in enumerate(STATUS_PATTERN) if s == status)


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lowercased address (an identifier, not security)."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def valid_email(email: Any) -> TypeGuard[str]:
    return isinstance(email, str) and bool(_EMAIL.match(email))


def index_in_email(email: str) -> int | None:
    """The generated index an address may encode (person() puts it before the '@')."""
    match = _INDEX_IN_EMAIL.search(email)
    return int(match.group(1)) if match else None


def wire_time(ts: float) -> str:
    return iso(ts, ms=False, z=False)  # 2024-01-01T00:00:00+00:00, Mailchimp's style


def generate_member(list_id: str, index: int, rng: random.Random) -> dict[str, Any]:
    """A member as stored: everything but ``last_changed`` and ``_links``."""
    who = person(rng, index)
    email = who["email"]
    opted = EPOCH - rng.randint(1, 700) * 86_400
    return {
        "id": subscriber_hash(email), "email_address": email,
        "unique_email_id": hashlib.sha1(f"{list_id}:{email}".encode(),
                                        usedforsecurity=False).hexdigest()[:10],
        "contact_id": hashlib.sha1(email.encode(), usedforsecurity=False).hexdigest()[:32],
        "full_name": f"{who['first']} {who['last']}", "web_id": 500_000_000 + index,
        "email_type": "html", "status": STATUS_PATTERN[index % len(STATUS_PATTERN)],
        "consents_to_one_to_one_messaging": True,
        "merge_fields": {"FNAME": who["first"], "LNAME": who["last"], "ADDRESS": "",
                         "PHONE": "", "BIRTHDAY": ""},
        "interests": {},
        "stats": {"avg_open_rate": round(rng.random(), 2),
                  "avg_click_rate": round(rng.random() / 3, 2)},
        "ip_signup": "", "timestamp_signup": "",
        "ip_opt": f"198.51.100.{rng.randint(1, 254)}", "timestamp_opt": wire_time(opted),
        "member_rating": rng.randint(1, 5), "language": "en", "vip": rng.random() < 0.02,
        "email_client": rng.choice(["Gmail", "Apple Mail", "Outlook", ""]),
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0,
                     "country_code": rng.choice(["US", "GB", "DE", "FR", "CA"]),
                     "timezone": "", "region": ""},
        "source": "API - Generic", "tags_count": 0, "tags": [], "list_id": list_id,
    }


def new_member(list_id: str, email: str) -> dict[str, Any]:
    return {
        "id": subscriber_hash(email), "email_address": email,
        "unique_email_id": hashlib.sha1(f"{list_id}:{email}".encode(),
                                        usedforsecurity=False).hexdigest()[:10],
        "contact_id": hashlib.sha1(email.encode(), usedforsecurity=False).hexdigest()[:32],
        "full_name": "", "web_id": int(subscriber_hash(email)[:7], 16), "email_type": "html",
        "status": "subscribed", "consents_to_one_to_one_messaging": True,
        "merge_fields": {"FNAME": "", "LNAME": "", "ADDRESS": "", "PHONE": "", "BIRTHDAY": ""},
        "interests": {}, "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "", "timestamp_signup": "", "ip_opt": "", "timestamp_opt": "",
        "member_rating": 2, "language": "", "vip": False, "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0,
                     "country_code": "", "timezone": "", "region": ""},
        "source": "API - Generic", "tags_count": 0, "tags": [], "list_id": list_id,
    }


def apply_member_body(member: dict[str, Any], body: dict[str, Any], *,
                      creating: bool) -> dict[str, Any]:
    """Merge a PUT/PATCH/POST body into a stored member (merge_fields merge key by key)."""
    out = {**member, "merge_fields": dict(member["merge_fields"]),
           "interests": dict(member["interests"])}
    status = body.get("status") or (body.get("status_if_new") if creating else None)
    if status:
        out["status"] = status
    for key in ("email_type", "language", "vip", "ip_signup", "ip_opt", "timestamp_signup",
                "timestamp_opt"):
        if key in body:
            out[key] = body[key]
    out["merge_fields"].update(body.get("merge_fields") or {})
    out["interests"].update(body.get("interests") or {})
    if "tags" in body:
        names = [t if isinstance(t, str) else t.get("name", "") for t in body["tags"]]
        out["tags"] = [{"id": int(hashlib.sha1(n.encode(), usedforsecurity=False)
                                  .hexdigest()[:6], 16), "name": n} for n in names]
        out["tags_count"] = len(names)
    first, last = out["merge_fields"].get("FNAME", ""), out["merge_fields"].get("LNAME", "")
    out["full_name"] = " ".join(p for p in (first, last) if p)
    return out


def member_links(api: str, list_id: str, member_id: str) -> list[dict[str, str]]:
    base = f"{api}/lists/{list_id}/members/{member_id}"
    schema = "https://us1.api.mailchimp.com/schema/3.0/Definitions/Lists/Members"
    return [{"rel": "self", "href": base, "method": "GET",
             "targetSchema": f"{schema}/Response.json"},
            {"rel": "upsert", "href": base, "method": "PUT",
             "targetSchema": f"{schema}/Response.json", "schema": f"{schema}/PUT.json"},
            {"rel": "delete", "href": base, "method": "DELETE"}]


def render_member(member: dict[str, Any], modified: float, api: str) -> dict[str, Any]:
    return {**member, "last_changed": wire_time(modified),
            "_links": member_links(api, member["list_id"], member["id"])}


def _paths(spec: str) -> list[list[str]]:
    return [p.strip().split(".") for p in spec.split(",") if p.strip()]


def _keep(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_keep(v, paths) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, sub in value.items():
        below = [p[1:] for p in paths if p[0] == key]
        if any(not p for p in below):
            out[key] = sub
        elif below:
            out[key] = _keep(sub, below)
    return out


def _drop(value: Any, paths: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_drop(v, paths) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, sub in value.items():
        below = [p[1:] for p in paths if p[0] == key]
        if any(not p for p in below):
            continue
        out[key] = _drop(sub, below) if below else sub
    return out


def project(body: dict[str, Any], fields: str | None, exclude: str | None) -> dict[str, Any]:
    """``fields`` / ``exclude_fields``: comma-separated, dot notation into objects and arrays."""
    if fields:
        body = _keep(body, _paths(fields))
    if exclude:
        body = _drop(body, _paths(exclude))
    return body


def problem(status: int, title: str, detail: str,
            errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """RFC 7807 body; ``instance`` doubles as the X-Request-Id header, as Mailchimp does."""
    request_id = str(uuid.uuid4())
    body: dict[str, Any] = {"type": ERRORS_DOC, "title": title, "status": status,
                            "detail": detail, "instance": request_id}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers={"X-Request-Id": request_id, **(headers or {})})


def ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": str(uuid.uuid4())})


def not_found() -> Response:
    return problem(404, "Resource Not Found", "The requested resource could not be found.")


def no_content() -> Response:
    return Response(status_code=204, headers={"X-Request-Id": str(uuid.uuid4())})


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(f"{prefix}[{key}]" if prefix else str(key), sub)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _flatten(f"{prefix}[{i}]", sub)
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, "" if value is None else str(value)


def form_encode(payload: dict[str, Any]) -> bytes:
    """PHP-style bracketed form encoding: ``data[merges][FNAME]=Ada``."""
    return urlencode(list(_flatten("", payload))).encode()
