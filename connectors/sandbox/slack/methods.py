"""Slack Web API method handlers: each takes (box, params, token scopes) and answers.

Split from ``slack.py`` to keep the router readable; the handlers implement the
read methods' paging and filters and chat.postMessage's validation and storage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from connectors.sandbox.kit import Dataset
from connectors.sandbox.slack import data, threads
from connectors.sandbox.slack.state import Box

MAX_TEXT = 40_000
Params = dict[str, Any]
Scopes = list[str]
TYPE_SCOPES = {"public_channel": "channels:read", "private_channel": "groups:read",
               "mpim": "mpim:read", "im": "im:read"}


def fail(error: str, status: int = 200, headers: dict[str, str] | None = None,
         **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error, **extra}, status, headers)


def int_arg(params: dict[str, Any], name: str, default: int, top: int) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return min(value, top) if value >= 1 else None


def flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def dataset(box: Box) -> Dataset:
    return box.dataset(data.DEFAULT_COUNTS, data.make, step_s=data.STEP_S)


def lookup_channel(box: Box, value: Any) -> dict[str, Any] | None:
    """A channel by id or name the bot can see (private ones only when a member)."""
    ds, text = dataset(box), str(value or "").lstrip("#")
    if text.startswith(threads.DM_PREFIX):
        return threads.dm_channel(ds.count("users"), text)
    index = data.decode_id("C06", text)
    if index is None and text == "general":
        index = 0
    elif index is None and "-" in text:
        tail = text.rsplit("-", 1)[1]
        index = int(tail) if tail.isdigit() else None
    if index is None or index >= ds.count("channels"):
        return None
    channel = ds.overlay.get("channels", {}).get(data.channel_id(index)) or ds.generated(
        "channels", index)
    if data.decode_id("C06", text) is None and channel["name"] != text:
        return None
    if channel["is_private"] and not channel["is_member"]:
        return None
    return channel


def scope_check(token_scopes: Scopes, needed: list[str]) -> JSONResponse | None:
    missing = [s for s in needed if s not in token_scopes]
    if not missing:
        return None
    return fail("missing_scope", needed=",".join(missing), provided=",".join(token_scopes))


def ok(body: dict[str, Any], token_scopes: Scopes) -> JSONResponse:
    return JSONResponse({"ok": True, **body}, headers={"X-OAuth-Scopes": ",".join(token_scopes)})


def mid_sync_change(box: Box, object_name: str) -> None:
    if not box.count_data_call():
        return
    ds = dataset(box)
    if object_name == "messages":
        edited = dict(data.generated_message(ds, 0, 0))
        edited["edited"] = {"user": edited["user"], "ts": f"{time.time():.6f}"}
        ds.put("messages:0", edited["ts"], edited)
        return
    first = dict(ds.generated(object_name, 0))
    if object_name == "users":
        first["real_name"] += " (renamed)"
    else:
        first["topic"] = {**first["topic"], "value": "changed mid-sync"}
    stamp = ds.put(object_name, first["id"], first)
    first["updated"] = int(stamp) if object_name == "users" else int(stamp * 1000)


def page_of(box: Box, object_name: str, params: Params, kind: str,
            default: int) -> tuple[int, int] | JSONResponse:
    limit = int_arg(params, "limit", default, 1000)
    if limit is None:
        return fail("invalid_limit")
    start = 0
    if params.get("cursor"):
        prefix = "C06" if object_name == "channels" else "U06"
        value = data.decode_cursor(kind, str(params["cursor"]))
        resumed = data.decode_id(prefix, value) if value else None
        if resumed is None or resumed > dataset(box).count(object_name):
            return fail("invalid_cursor")
        start = resumed
    return start, limit


def conversations_list(box: Box, params: Params, token_scopes: Scopes) -> Response:
    types = [t.strip() for t in str(params.get("types") or "public_channel").split(",")]
    if any(t not in TYPE_SCOPES for t in types):
        return fail("invalid_types")
    denied = scope_check(token_scopes, [TYPE_SCOPES[t] for t in types])
    if denied:
        return denied
    window = page_of(box, "channels", params, "team", 100)
    if isinstance(window, Response):
        return window
    mid_sync_change(box, "channels")
    (start, limit), ds = window, dataset(box)
    end = min(start + limit, ds.count("channels"))
    channels = []
    for index in range(start, end):
        channel = ds.overlay.get("channels", {}).get(data.channel_id(index)) or ds.generated(
            "channels", index)
        kind = "private_channel" if channel["is_private"] else "public_channel"
        if kind not in types or (channel["is_private"] and not channel["is_member"]):
            continue
        if flag(params.get("exclude_archived")) and channel["is_archived"]:
            continue
        channels.append(channel)
    more = end < ds.count("channels")
    cursor = data.encode_cursor("team", data.channel_id(end)) if more else ""
    return ok({"channels": channels, "response_metadata": {"next_cursor": cursor}},
              token_scopes)


def users_list(box: Box, params: Params, token_scopes: Scopes) -> Response:
    denied = scope_check(token_scopes, ["users:read"])
    if denied:
        return denied
    window = page_of(box, "users", params, "user", 1000)
    if isinstance(window, Response):
        return window
    mid_sync_change(box, "users")
    (start, limit), ds = window, dataset(box)
    end = min(start + limit, ds.count("users"))
    members = [render_user(box, index, token_scopes) for index in range(start, end)]
    more = end < ds.count("users")
    cursor = data.encode_cursor("user", data.user_id(end)) if more else ""
    return ok({"members": members, "cache_ts": int(time.time()),
               "response_metadata": {"next_cursor": cursor}}, token_scopes)


def render_user(box: Box, index: int, token_scopes: Scopes) -> dict[str, Any]:
    ds = dataset(box)
    user = ds.overlay.get("users", {}).get(data.user_id(index)) or ds.generated("users", index)
    if "users:read.email" not in token_scopes and "email" in user["profile"]:
        user = {**user, "profile": {k: v for k, v in user["profile"].items() if k != "email"}}
    return user


def users_info(box: Box, params: Params, token_scopes: Scopes) -> Response:
    denied = scope_check(token_scopes, ["users:read"])
    if denied:
        return denied
    if params.get("user") == data.BOT_USER_ID:
        return ok({"user": data.bot_user()}, token_scopes)
    index = data.decode_id("U06", str(params.get("user") or ""))
    if index is None or index >= dataset(box).count("users"):
        return fail("user_not_found")
    return ok({"user": render_user(box, index, token_scopes)}, token_scopes)


def conversations_info(box: Box, params: Params, token_scopes: Scopes) -> Response:
    channel = lookup_channel(box, params.get("channel"))
    if channel is None:
        return fail("channel_not_found")
    needed = "groups:read" if channel["is_private"] else "channels:read"
    return scope_check(token_scopes, [needed]) or ok({"channel": channel}, token_scopes)


def conversations_history(box: Box, params: Params, token_scopes: Scopes) -> Response:
    channel = lookup_channel(box, params.get("channel"))
    if channel is None:
        return fail("channel_not_found")
    needed = "groups:history" if channel["is_private"] else "channels:history"
    denied = scope_check(token_scopes, [needed])
    if denied:
        return denied
    if not channel["is_member"]:
        return fail("not_in_channel")
    limit = int_arg(params, "limit", 100, 999)
    if limit is None:
        return fail("invalid_limit")
    bounds = {}
    for name in ("oldest", "latest"):
        raw = params.get(name)
        bounds[name] = data.parse_ts(str(raw)) if raw not in (None, "") else None
        if raw not in (None, "") and bounds[name] is None:
            return fail("invalid_ts_" + name)
    hi, hi_incl = bounds["latest"], flag(params.get("inclusive"))
    if params.get("cursor"):
        value = data.decode_cursor("next_ts", str(params["cursor"]))
        hi = data.parse_ts(value) if value else None
        if hi is None:
            return fail("invalid_cursor")
        hi_incl = False
    mid_sync_change(box, "messages")
    index = data.decode_id("C06", channel["id"]) or 0
    # a DM has no generated messages: an index past them all leaves only the posted ones
    messages, more = data.history(dataset(box), index, lo=bounds["oldest"],
                                  lo_incl=flag(params.get("inclusive")), hi=hi,
                                  hi_incl=hi_incl, limit=limit,
                                  key=threads.store_key(channel),
                                  generated=not channel.get("is_im"))
    cursor = data.encode_cursor("next_ts", messages[-1]["ts"]) if more else ""
    body: dict[str, Any] = {"messages": messages, "has_more": more, "pin_count": 0,
                            "channel_actions_ts": None, "channel_actions_count": 0}
    if more:
        body["response_metadata"] = {"next_cursor": cursor}
    return ok(body, token_scopes)


def new_ts(box: Box, channel: dict[str, Any]) -> str:
    """A ts no other message of the conversation has, later than every one posted."""
    ds, index = dataset(box), data.decode_id("C06", channel["id"]) or 0
    micro = max(int(time.time() * data.MICRO), box.state.last_post_micro + 1)
    while not channel.get("is_im") and data.generated_index(ds, index, micro) is not None:
        micro += 1
    box.state.last_post_micro = micro
    return data.ts_text(micro)


def _content(params: Params, *, attachments: bool) -> tuple[Any, Any] | JSONResponse:
    """A message's ``text`` and ``blocks`` (a JSON string, as form posts send it, or a
    list), checked as chat.postMessage and chat.update check them; or the error."""
    text, blocks = params.get("text"), params.get("blocks")
    if isinstance(blocks, str) and blocks:
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            return fail("invalid_blocks")
    if blocks not in (None, "") and not isinstance(blocks, list):
        return fail("invalid_blocks")
    if not text and not blocks and not (attachments and params.get("attachments")):
        return fail("no_text")
    if text and len(str(text)) > MAX_TEXT:
        return fail("msg_too_long")
    return text, blocks


def _writing_to(box: Box, params: Params, token_scopes: Scopes
                ) -> dict[str, Any] | JSONResponse:
    """The channel a chat method writes to, once the token may write (``chat:write``)."""
    denied = scope_check(token_scopes, ["chat:write"])
    if denied:
        return denied
    channel = lookup_channel(box, params.get("channel"))
    return fail("channel_not_found") if channel is None else channel


def post_message(box: Box, params: Params, token_scopes: Scopes) -> Response:
    channel = _writing_to(box, params, token_scopes)
    if isinstance(channel, Response):
        return channel
    if channel["is_archived"]:
        return fail("is_archived")
    if not channel["is_member"]:
        return fail("not_in_channel")
    content = _content(params, attachments=True)
    if isinstance(content, Response):
        return content
    text, blocks = content
    ds = dataset(box)
    message: dict[str, Any] = {"type": "message", "text": str(text or ""),
                               "user": data.BOT_USER_ID, "bot_id": data.BOT_ID,
                               "app_id": data.APP_ID, "ts": new_ts(box, channel),
                               "team": data.TEAM_ID}
    if blocks:
        message["blocks"] = blocks
    if params.get("thread_ts"):
        message["thread_ts"] = str(params["thread_ts"])
        if flag(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
    threads.save(ds, channel, message)
    if message.get("thread_ts"):
        threads.note_reply(ds, channel, message)
    return ok({"channel": channel["id"], "ts": message["ts"], "message": message},
              token_scopes)


def _readable(box: Box, params: Params, token_scopes: Scopes
              ) -> tuple[dict[str, Any], str] | JSONResponse:
    """The channel and ``ts`` a thread method names, or its error."""
    channel = lookup_channel(box, params.get("channel"))
    if channel is None:
        return fail("channel_not_found")
    needed = "im:history" if channel.get("is_im") else (
        "groups:history" if channel["is_private"] else "channels:history")
    denied = scope_check(token_scopes, [needed])
    if denied:
        return denied
    ts = str(params.get("ts") or "")
    if data.parse_ts(ts) is None:
        return fail("invalid_arguments" if not ts else "thread_not_found")
    return channel, ts


def conversations_replies(box: Box, params: Params, token_scopes: Scopes) -> Response:
    """The parent and its replies oldest first, paged by ``limit`` and ``cursor``."""
    found = _readable(box, params, token_scopes)
    if isinstance(found, Response):
        return found
    channel, ts = found
    limit = int_arg(params, "limit", 1000, 1000)
    if limit is None:
        return fail("invalid_limit")
    thread = threads.replies(dataset(box), channel, ts)
    if thread is None:
        return fail("thread_not_found")
    start = 0
    if params.get("cursor"):
        after = data.decode_cursor("next_ts", str(params["cursor"]))
        stamps = [m["ts"] for m in thread]
        if after not in stamps:
            return fail("invalid_cursor")
        start = stamps.index(after)
    page, more = thread[start:start + limit], start + limit < len(thread)
    body: dict[str, Any] = {"messages": page, "has_more": more}
    body["response_metadata"] = {"next_cursor": data.encode_cursor(
        "next_ts", thread[start + limit]["ts"]) if more else ""}
    return ok(body, token_scopes)


def chat_update(box: Box, params: Params, token_scopes: Scopes) -> Response:
    """Replace a bot message's text and blocks; Slack marks it edited."""
    channel = _writing_to(box, params, token_scopes)
    if isinstance(channel, Response):
        return channel
    ds, ts = dataset(box), str(params.get("ts") or "")
    message = threads.find(ds, channel, ts) if data.parse_ts(ts) is not None else None
    if message is None:
        return fail("message_not_found")
    if message.get("bot_id") != data.BOT_ID:
        return fail("cant_update_message")
    content = _content(params, attachments=False)
    if isinstance(content, Response):
        return content
    text, blocks = content
    edited = {**message, "text": str(text or ""),
              "edited": {"user": data.BOT_USER_ID, "ts": f"{time.time():.6f}"}}
    if blocks:
        edited["blocks"] = blocks
    else:
        edited.pop("blocks", None)
    threads.save(ds, channel, edited)
    return ok({"channel": channel["id"], "ts": ts, "text": edited["text"],
               "message": edited}, token_scopes)


def auth_test(box: Box, params: Params, token_scopes: Scopes) -> Response:
    return ok({"url": f"https://{data.TEAM_DOMAIN}.slack.com/", "team": data.TEAM_NAME,
               "user": "connectus", "team_id": data.TEAM_ID, "user_id": data.BOT_USER_ID,
               "bot_id": data.BOT_ID, "is_enterprise_install": False}, token_scopes)


METHODS: dict[str, Callable[[Box, Params, Scopes], Response]] = {
    "auth.test": auth_test, "conversations.list": conversations_list,
           "conversations.info": conversations_info, "users.list": users_list,
           "conversations.history": conversations_history, "users.info": users_info,
           "chat.postMessage": post_message, "chat.update": chat_update,
           "conversations.replies": conversations_replies}
