"""The Events API and interactivity, as Slack delivers them to an app.

``/_sandbox/request_url`` sets the app's Request URL (and interactivity URL, the same
by default). A person is played by ``/_sandbox/say``: the message is stored (so
history and replies show it) and, when it mentions the bot or is a DM, the
``app_mention`` or ``message`` (channel_type ``im``) event goes out in a v0-signed
``event_callback`` envelope. A delivery not answered 2xx within 3 s is retried up to
three times (``retry_delays_s``, Slack's immediately, ~1 min and ~5 min) with
``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``, unless the answer carried
``X-Slack-No-Retry: 1``; ``/_sandbox/events/{id}/retry`` plays Slack deciding an
acknowledged delivery came too late. The bot's own posts in a DM come back as
``message`` events with its ``bot_id``, as Slack sends them. ``/_sandbox/press``
presses a button of a message: a form-encoded ``payload=`` JSON of type
``block_actions`` with a ``response_url`` served under ``/_sandbox/respond/``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from connectors.sandbox.slack import data, methods, threads
from connectors.sandbox.slack.state import Box

WEBHOOK_TIMEOUT_S = 3.0  # Slack retries an event not acknowledged within three seconds
_tasks: set[asyncio.Task[None]] = set()  # retries in flight, kept from the collector


def sign(secret: str, timestamp: str, body: bytes) -> str:
    import hashlib
    import hmac

    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(box: Box, body: bytes, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(box.webhook_secret, stamp, body)}


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    event.setdefault("event_ts", f"{now:.6f}")
    return {"token": "sandbox-verification-token", "team_id": data.TEAM_ID,
            "api_app_id": data.APP_ID, "event": event, "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(), "event_time": int(now),
            "authorizations": [{"enterprise_id": None, "team_id": data.TEAM_ID,
                                "user_id": data.BOT_USER_ID, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": secrets.token_urlsafe(24)}


async def _post(box: Box, url: str, body: bytes, content_type: str, event_id: str | None,
                retry_num: int = 0, reason: str | None = None) -> httpx.Response | str:
    """One attempt: the response, or why there was none (a retry reason)."""
    headers = signed_headers(box, body, content_type)
    if retry_num:
        headers.update({"X-Slack-Retry-Num": str(retry_num),
                        "X-Slack-Retry-Reason": reason or "http_timeout"})
    entry: dict[str, Any] = {"event_id": event_id, "retry_num": retry_num, "reason": reason,
                             "status_code": None}
    box.state.deliveries.append(entry)
    try:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return "http_timeout"
    except httpx.HTTPError:
        return "connection_failed"
    entry["status_code"] = response.status_code
    return response


async def _retry_later(box: Box, url: str, body: bytes, event_id: str, reason: str) -> None:
    for number, delay in enumerate(box.state.retry_delays_s, start=1):
        await asyncio.sleep(delay)
        sent = await _post(box, url, body, "application/json", event_id, number, reason)
        if isinstance(sent, httpx.Response):
            if sent.is_success or sent.headers.get("x-slack-no-retry") == "1":
                return
            reason = "http_error"
        else:
            reason = sent


async def deliver(box: Box, event: dict[str, Any]) -> dict[str, Any]:
    """Send an event to the Request URL; a failed attempt is retried in the background."""
    url = box.state.request_url
    body_json = envelope(event)
    body = json.dumps(body_json, separators=(",", ":")).encode()
    event_id = body_json["event_id"]
    box.state.envelopes[event_id] = body
    if url is None:
        return {"event_id": event_id, "status_code": None, "error": "no request URL set"}
    sent = await _post(box, url, body, "application/json", event_id)
    failed = sent if isinstance(sent, str) else None
    if isinstance(sent, httpx.Response) and not sent.is_success and \
            sent.headers.get("x-slack-no-retry") != "1":
        failed = "http_error"
    if failed:
        task = asyncio.create_task(_retry_later(box, url, body, event_id, failed))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    return {"event_id": event_id,
            "status_code": sent.status_code if isinstance(sent, httpx.Response) else None}


def echo_bot_post(box: Box, answer: dict[str, Any]) -> None:
    """The bot's own message in a DM comes back to it as a ``message`` event."""
    message, channel = answer.get("message") or {}, str(answer.get("channel") or "")
    if not answer.get("ok") or not channel.startswith(threads.DM_PREFIX) or \
            box.state.request_url is None:
        return
    event = {**message, "channel": channel, "channel_type": "im"}
    task = asyncio.create_task(_echo(box, event))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _echo(box: Box, event: dict[str, Any]) -> None:
    await deliver(box, event)


class Said(BaseModel):
    user: str
    text: str
    channel: str | None = None  # left out: the user's DM with the bot
    thread_ts: str | None = None


class Press(BaseModel):
    user: str
    channel: str
    ts: str
    action_id: str


class Urls(BaseModel):
    events: str | None = None
    interactivity: str | None = None


def _action(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def create_router(box: Box) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/request_url")
    async def request_url(urls: Urls) -> dict[str, Any]:
        box.state.request_url = urls.events
        box.state.interactivity_url = urls.interactivity
        return {"request_url": urls.events, "interactivity_url": urls.interactivity}

    @router.post("/say")
    async def say(said: Said) -> JSONResponse:
        ds = methods.dataset(box)
        index = data.decode_id("U06", said.user)
        if index is None or index >= ds.count("users"):
            return methods.fail("user_not_found", 404)
        channel_id = said.channel or threads.dm_id(said.user) or ""
        channel = methods.lookup_channel(box, channel_id)
        if channel is None:
            return methods.fail("channel_not_found", 404)
        message: dict[str, Any] = {"type": "message", "user": said.user, "text": said.text,
                                   "ts": methods.new_ts(box, channel), "team": data.TEAM_ID}
        if said.thread_ts:
            message["thread_ts"] = said.thread_ts
        threads.save(ds, channel, message)
        if said.thread_ts:
            threads.note_reply(ds, channel, message)
        if channel.get("is_im"):
            event = {**message, "channel": channel["id"], "channel_type": "im"}
        elif f"<@{data.BOT_USER_ID}>" in said.text:
            event = {**message, "type": "app_mention", "channel": channel["id"]}
        else:  # the app subscribes to mentions and DMs only
            return JSONResponse({"ts": message["ts"], "channel": channel["id"],
                                 "event_id": None})
        sent = await deliver(box, event)
        return JSONResponse({"ts": message["ts"], "channel": channel["id"], **sent})

    @router.post("/events/{event_id}/retry")
    async def retry(event_id: str) -> JSONResponse:
        body, url = box.state.envelopes.get(event_id), box.state.request_url
        if body is None or url is None:
            return methods.fail("event_not_found", 404)
        number = 1 + max((d["retry_num"] for d in box.state.deliveries
                          if d["event_id"] == event_id), default=0)
        sent = await _post(box, url, body, "application/json", event_id, number, "http_timeout")
        return JSONResponse({"retry_num": number, "status_code": sent.status_code
                             if isinstance(sent, httpx.Response) else None})

    @router.post("/press")
    async def press(pressed: Press, request: Request) -> JSONResponse:
        channel = methods.lookup_channel(box, pressed.channel)
        message = threads.find(methods.dataset(box), channel, pressed.ts) if channel else None
        found = _action(message, pressed.action_id) if message else None
        if channel is None or message is None or found is None:
            return methods.fail("action_not_found", 404)
        url = box.state.interactivity_url or box.state.request_url
        if url is None:
            return methods.fail("no_request_url", 409)
        block_id, element = found
        token = secrets.token_urlsafe(16)
        now = f"{time.time():.6f}"
        payload = {
            "type": "block_actions", "token": "sandbox-verification-token",
            "api_app_id": data.APP_ID, "trigger_id": f"{int(time.time())}.{token[:8]}",
            "team": {"id": data.TEAM_ID, "domain": data.TEAM_DOMAIN},
            "user": {"id": pressed.user, "username": pressed.user.lower(),
                     "name": pressed.user.lower(), "team_id": data.TEAM_ID},
            "container": {"type": "message", "message_ts": message["ts"],
                          "channel_id": channel["id"], "is_ephemeral": False},
            "channel": {"id": channel["id"], "name": channel.get("name", "directmessage")},
            "message": message, "state": {"values": {}}, "is_enterprise_install": False,
            "enterprise": None,
            "response_url": f"{str(request.base_url).rstrip('/')}/slack/_sandbox/respond/"
                            f"{token}",
            "actions": [{**{k: v for k, v in element.items() if k != "confirm"},
                         "block_id": block_id, "action_ts": now}]}
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
        sent = await _post(box, url, body, "application/x-www-form-urlencoded", None)
        return JSONResponse({"status_code": sent.status_code
                             if isinstance(sent, httpx.Response) else None})

    @router.post("/respond/{token}")
    async def respond(token: str, request: Request) -> JSONResponse:
        try:
            reply = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, 400)
        box.state.responses.append({"token": token, **(reply if isinstance(reply, dict)
                                                        else {})})
        return JSONResponse({"ok": True})

    @router.get("/deliveries")
    async def deliveries() -> dict[str, Any]:
        return {"deliveries": box.state.deliveries}

    return router
