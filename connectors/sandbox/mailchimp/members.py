"""Mailchimp audience members and webhooks: the handlers behind ``/lists/{list_id}/...``.

Validation failures raise ``Invalid`` (rendered as a 400 problem body by the router).
Titles and details copy the wire where they are known ("Member Exists", "Invalid
Resource", "Forgotten Email Not Subscribed"); the batch-subscribe per-member errors
use Mailchimp's two codes, ``ERROR_CONTACT_EXISTS`` and ``ERROR_GENERIC``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import Response

from connectors.sandbox.kit.wire import parse_iso
from connectors.sandbox.mailchimp.data import (
    STATUSES,
    apply_member_body,
    new_member,
    no_content,
    not_found,
    ok,
    project,
    render_member,
    subscriber_hash,
    valid_email,
)
from connectors.sandbox.mailchimp.state import Box
from connectors.sandbox.mailchimp.store import (
    dataset,
    forgotten,
    lookup,
    member_page,
    member_view,
    mutate_first_members,
    put_member,
)

MAX_COUNT = 1000
MAX_BATCH = 500
_VALIDATE = ("The resource submitted could not be validated. For field-specific details, see "
             "the 'errors' array.")
_STATUS_MESSAGE = ("Data presented is not one of the accepted values: "
                   + ", ".join(STATUSES) + ".")
_EVENTS = ("subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")
_SOURCES = ("user", "admin", "api")


class Invalid(Exception):
    def __init__(self, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.title, self.detail, self.errors = title, detail, errors


def mutate(box: Box) -> None:
    mutate_first_members(box)


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d+", raw):
        raise Invalid("Invalid Resource", _VALIDATE, [
            {"field": name, "message": "Schema describes integer, string found instead"}])
    return int(raw)


def paging(request: Request) -> tuple[int, int]:
    # Mailchimp serves at most 1000 per page and quietly caps a larger count.
    return min(_int(request, "count", 10), MAX_COUNT), _int(request, "offset", 0)


def _time(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise Invalid("Invalid Resource", _VALIDATE,
                      [{"field": name, "message": "Invalid date format."}]) from exc


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise Invalid("JSON Parse Error", "We encountered an unspecified JSON parsing error.") \
            from exc
    if not isinstance(body, dict):
        raise Invalid("JSON Parse Error", "We encountered an unspecified JSON parsing error.")
    return body


def _check_status(body: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in body and body[name] not in STATUSES:
            raise Invalid("Invalid Resource", _VALIDATE,
                          [{"field": name, "message": _STATUS_MESSAGE}])


async def list_members(box: Box, request: Request, m: re.Match[str],
                       api: str) -> Response:
    if box.count_data_call():
        mutate(box)
    list_id = m.group("list")
    count, offset = paging(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in (*STATUSES, "archived"):
        raise Invalid("Invalid Resource", _VALIDATE,
                      [{"field": "status", "message": _STATUS_MESSAGE}])
    view = member_view(box, list_id, status, _time(request, "since_last_changed"),
                       _time(request, "before_last_changed"))
    body = {"members": member_page(box, list_id, view, offset, count, api), "list_id": list_id,
            "total_items": view.total,
            "_links": [{"rel": "self", "href": f"{api}/lists/{list_id}/members", "method": "GET"}]}
    params = request.query_params
    return ok(project(body, params.get("fields"), params.get("exclude_fields")))


def _store(box: Box, list_id: str, base: dict[str, Any], body: dict[str, Any],
           index: int | None, api: str, *, creating: bool) -> dict[str, Any]:
    member = apply_member_body(base, body, creating=creating)
    return render_member(member, put_member(box, list_id, member, index), api)


async def create_member(box: Box, request: Request, m: re.Match[str],
                        api: str) -> Response:
    list_id, body = m.group("list"), await _body(request)
    email = body.get("email_address")
    if not valid_email(email):
        raise Invalid("Invalid Resource", "Please provide a valid email address.")
    if "status" not in body:
        raise Invalid("Invalid Resource", _VALIDATE,
                      [{"field": "status", "message": "This value should not be blank."}])
    _check_status(body, "status")
    member_hash, member, _, index = lookup(box, list_id, email)
    if member is not None and member["status"] != "archived":
        raise Invalid("Member Exists", f"{email} is already a list member. Use PUT to insert or "
                      "update list members.")
    if member is None and forgotten(box, list_id, member_hash):
        raise Invalid("Forgotten Email Not Subscribed", f"{email} was permanently deleted and "
                      "cannot be re-imported. The contact must re-subscribe to get back on the "
                      "list.")
    base = member or new_member(list_id, email)
    return ok(_store(box, list_id, base, body, index, api, creating=True))


async def one_member(box: Box, request: Request, m: re.Match[str],
                     api: str) -> Response:
    list_id = m.group("list")
    member_hash, member, modified, index = lookup(box, list_id, m.group("member"))
    if request.method == "PUT":
        return await _upsert(box, request, list_id, member_hash, api)
    if member is None or (request.method == "DELETE" and member["status"] == "archived"):
        return not_found()
    if request.method == "DELETE":
        put_member(box, list_id, {**member, "status": "archived"}, index)
        return no_content()
    if request.method == "PATCH":
        body = await _body(request)
        _check_status(body, "status")
        return ok(_store(box, list_id, member, body, index, api, creating=False))
    if box.count_data_call():
        mutate(box)
        member_hash, member, modified, index = lookup(box, list_id, member_hash)
        if member is None:
            return not_found()
    params = request.query_params
    return ok(project(render_member(member, modified, api), params.get("fields"),
                      params.get("exclude_fields")))


async def _upsert(box: Box, request: Request, list_id: str, path_hash: str,
                  api: str) -> Response:
    body = await _body(request)
    email = body.get("email_address")
    if not valid_email(email):
        raise Invalid("Invalid Resource", "Please provide a valid email address.")
    if subscriber_hash(email) != path_hash:
        raise Invalid("Invalid Resource", "The subscriber hash in the URL does not match the "
                      "email_address in the request body.")
    _check_status(body, "status", "status_if_new")
    member_hash, member, _, index = lookup(box, list_id, email)
    if member is None:
        if forgotten(box, list_id, member_hash):
            raise Invalid("Forgotten Email Not Subscribed", f"{email} was permanently deleted "
                          "and cannot be re-imported. The contact must re-subscribe to get back "
                          "on the list.")
        if not (body.get("status") or body.get("status_if_new")):
            raise Invalid("Invalid Resource", _VALIDATE, [
                {"field": "status_if_new", "message": "This value should not be blank."}])
    base = member or new_member(list_id, email)
    return ok(_store(box, list_id, base, body, index, api, creating=member is None))


async def delete_permanent(box: Box, request: Request, m: re.Match[str],
                           api: str) -> Response:
    member_hash, member, _, _ = lookup(box, m.group("list"), m.group("member"))
    if member is None:
        return not_found()
    dataset(box).delete(m.group("list"), member_hash)
    return no_content()


def _batch_error(email: Any, error: str, code: str, field: str = "",
                 field_message: str = "") -> dict[str, Any]:
    return {"email_address": email, "error": error, "error_code": code, "field": field,
            "field_message": field_message}


async def batch_subscribe(box: Box, request: Request, m: re.Match[str],
                          api: str) -> Response:
    list_id, body = m.group("list"), await _body(request)
    items = body.get("members")
    if not isinstance(items, list):
        raise Invalid("Invalid Resource", _VALIDATE,
                      [{"field": "members", "message": "This value should not be blank."}])
    if len(items) > MAX_BATCH:
        raise Invalid("Invalid Resource", _VALIDATE, [
            {"field": "members", "message": f"Schema describes array, maximum {MAX_BATCH} "
                                            f"items allowed, {len(items)} found"}])
    update_existing = bool(body.get("update_existing"))
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in items:
        email = item.get("email_address") if isinstance(item, dict) else None
        if not valid_email(email):
            errors.append(_batch_error(email, f"{email} looks fake or invalid, please enter a "
                                       "real email address.", "ERROR_GENERIC", "email_address",
                                       "Please provide a valid email address."))
            continue
        status = item.get("status") or item.get("status_if_new")
        if status not in STATUSES:
            errors.append(_batch_error(email, _STATUS_MESSAGE, "ERROR_GENERIC", "status",
                                       _STATUS_MESSAGE))
            continue
        member_hash, member, _, index = lookup(box, list_id, email)
        if member is not None and member["status"] != "archived":
            if not update_existing:
                errors.append(_batch_error(email, f"{email} is already a list member, do you "
                                           "want to update? please provide update_existing:true "
                                           "in the request body", "ERROR_CONTACT_EXISTS"))
                continue
            updated.append(_store(box, list_id, member, item, index, api, creating=False))
        elif member is None and forgotten(box, list_id, member_hash):
            errors.append(_batch_error(email, f"{email} was permanently deleted and cannot be "
                                       "re-imported.", "ERROR_GENERIC"))
        else:
            base = member or new_member(list_id, email)
            created.append(_store(box, list_id, base, {**item, "status": status}, index, api,
                                  creating=True))
    return ok({"new_members": created, "updated_members": updated, "errors": errors,
               "total_created": len(created), "total_updated": len(updated),
               "error_count": len(errors),
               "_links": [{"rel": "self", "href": f"{api}/lists/{list_id}", "method": "POST"}]})


def _hook_body(hook: dict[str, Any], api: str) -> dict[str, Any]:
    href = f"{api}/lists/{hook['list_id']}/webhooks/{hook['id']}"
    return {**hook, "_links": [{"rel": "self", "href": href, "method": "GET"},
                               {"rel": "delete", "href": href, "method": "DELETE"}]}


async def webhooks(box: Box, request: Request, m: re.Match[str],
                   api: str) -> Response:
    list_id = m.group("list")
    hooks = box.state.webhooks.setdefault(list_id, {})
    if request.method == "GET":
        return ok({"webhooks": [_hook_body(h, api) for h in hooks.values()], "list_id": list_id,
                   "total_items": len(hooks), "_links": []})
    body = await _body(request)
    url = body.get("url")
    if not isinstance(url, str) or not re.match(r"https?://", url):
        raise Invalid("Invalid Resource", _VALIDATE,
                      [{"field": "url", "message": "This value should be a valid URL."}])
    # Mailchimp proves the URL answers before saving the webhook: a plain GET, no body.
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            ping = await client.get(url, headers={"User-Agent": "MailChimp.com WebHook Validator"})
        code: int | str = ping.status_code
    except httpx.HTTPError:
        code = "none"
    if code != 200:
        raise Invalid("Invalid Resource", _VALIDATE, [
            {"field": "url", "message": "We couldn't verify the URL is working. Please double "
                                        f"check and try again. HTTP Code: {code}"}])
    box.state.serial += 1
    hook_id = subscriber_hash(f"{list_id}:{box.state.serial}")[:10]
    events, sources = body.get("events") or {}, body.get("sources") or {}
    hooks[hook_id] = {"id": hook_id, "url": url,
                      "events": {e: bool(events.get(e, True)) for e in _EVENTS},
                      "sources": {s: bool(sources.get(s, True)) for s in _SOURCES},
                      "list_id": list_id}
    return ok(_hook_body(hooks[hook_id], api))


async def webhook(box: Box, request: Request, m: re.Match[str], api: str) -> Response:
    hooks = box.state.webhooks.get(m.group("list"), {})
    hook = hooks.get(m.group("hook"))
    if hook is None:
        return not_found()
    if request.method == "DELETE":
        del hooks[hook["id"]]
        return no_content()
    return ok(_hook_body(hook, api))
