"""Slack sandbox data: id codes, lazily generated channels, users and messages, cursors.

Channel ``i`` is ``C06`` + base-36 ``i`` and user ``i`` is ``U06`` + base-36 ``i``, so
an id maps back to its index without a lookup table. Message ``j`` of channel ``c``
has ``ts = EPOCH + j * MSG_STEP_S`` seconds with ``c`` in the microsecond part, which
keeps every ts unique per channel and turns ``oldest``/``latest`` into arithmetic.
Posted or edited messages live in the dataset overlay under ``messages:<c>``.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import random
from collections.abc import Iterator
from typing import Any

from connectors.sandbox.kit import EPOCH, Dataset
from connectors.sandbox.kit.people import person

DEFAULT_COUNTS = {"channels": 250, "users": 1200, "messages": 200}
STEP_S = 60
MSG_STEP_S = 300
MICRO = 1_000_000
TEAM_ID = "T06SBX0001"
TEAM_NAME = "Connectus Sandbox"
TEAM_DOMAIN = "connectus-sandbox"
BOT_USER_ID = "U07SBXBOT1"
BOT_ID = "B07SBXBOT1"
APP_ID = "A07SBXAPP1"
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOPICS = ["random", "eng", "sales", "support", "design", "ops", "marketing", "data",
           "infra", "product", "finance", "people", "legal", "security", "growth"]
_TIMEZONES = [("America/Los_Angeles", "Pacific Standard Time", -28800),
              ("America/New_York", "Eastern Standard Time", -18000),
              ("Europe/London", "Greenwich Mean Time", 0),
              ("Europe/Berlin", "Central European Time", 3600),
              ("Asia/Tokyo", "Japan Standard Time", 32400)]
_WORDS = ["ship", "review", "deploy", "lunch", "metrics", "bug", "release", "design",
          "customer", "roadmap", "incident", "standup", "docs", "demo", "budget"]


def encode_id(prefix: str, index: int) -> str:
    digits = ""
    while True:
        index, rest = divmod(index, 36)
        digits = _DIGITS[rest] + digits
        if not index:
            break
    return prefix + digits.rjust(7, "0")


def decode_id(prefix: str, value: str) -> int | None:
    code = value[len(prefix):]
    if not value.startswith(prefix) or len(code) != 7 or any(c not in _DIGITS for c in code):
        return None
    return int(code, 36)


def channel_id(index: int) -> str:
    return encode_id("C06", index)


def user_id(index: int) -> str:
    return encode_id("U06", index)


def encode_cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> str | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    head, _, value = text.partition(":")
    return value if head == kind and value else None


def make(object_name: str, index: int, rng: random.Random) -> dict[str, Any]:
    if object_name == "channels":
        return _channel(index, rng)
    return _user(index, rng)


def _channel(index: int, rng: random.Random) -> dict[str, Any]:
    general = index == 0
    private = not general and rng.random() < 0.2
    archived = not general and rng.random() < 0.1
    member = general or rng.random() < 0.7
    name = "general" if general else f"{rng.choice(_TOPICS)}-{index}"
    created = EPOCH - 86_400 + index
    creator = user_id(rng.randrange(50))
    text = f"All about {name}"
    return {
        "id": channel_id(index), "name": name, "is_channel": True, "is_group": False,
        "is_im": False, "is_mpim": False, "is_private": private, "created": created,
        "is_archived": archived, "is_general": general, "unlinked": 0,
        "name_normalized": name, "is_shared": False, "is_org_shared": False,
        "is_pending_ext_shared": False, "pending_shared": [], "context_team_id": TEAM_ID,
        "updated": (EPOCH + index * STEP_S) * 1000, "parent_conversation": None,
        "creator": creator, "is_ext_shared": False, "shared_team_ids": [TEAM_ID],
        "pending_connected_team_ids": [], "is_member": member,
        "topic": {"value": text, "creator": creator, "last_set": created},
        "purpose": {"value": f"Channel #{index}", "creator": creator, "last_set": created},
        "previous_names": [], "num_members": 3 + rng.randrange(400),
    }


def _user(index: int, rng: random.Random) -> dict[str, Any]:
    who = person(rng, index)
    is_bot = rng.random() < 0.05
    deleted = rng.random() < 0.08
    tz, tz_label, tz_offset = rng.choice(_TIMEZONES)
    real = f"{who['company']} Bot {index}" if is_bot else f"{who['first']} {who['last']}"
    handle = real.lower().replace(" ", ".").replace("-", "")
    image = f"https://avatars.slack-edge.example/{index}"
    profile: dict[str, Any] = {
        "title": "" if is_bot else rng.choice(["Engineer", "Designer", "AE", "CSM", ""]),
        "phone": "", "skype": "", "real_name": real, "real_name_normalized": real,
        "display_name": "" if is_bot else who["first"].lower(),
        "display_name_normalized": "" if is_bot else who["first"].lower(),
        "status_text": "", "status_emoji": "", "status_expiration": 0,
        "first_name": who["first"], "last_name": "" if is_bot else who["last"],
        "image_24": f"{image}_24.png", "image_72": f"{image}_72.png", "team": TEAM_ID,
    }
    if is_bot:
        profile.update({"bot_id": encode_id("B06", index), "api_app_id": encode_id("A06", index),
                        "always_active": True})
    else:
        profile["email"] = who["email"]
    return {
        "id": user_id(index), "team_id": TEAM_ID, "name": handle, "deleted": deleted,
        "color": f"{rng.randrange(0x1000000):06x}", "real_name": real, "tz": tz,
        "tz_label": tz_label, "tz_offset": tz_offset, "profile": profile,
        "is_admin": index == 0 or (not is_bot and rng.random() < 0.02),
        "is_owner": index == 0, "is_primary_owner": index == 0,
        "is_restricted": False, "is_ultra_restricted": False, "is_bot": is_bot,
        "is_app_user": False, "updated": EPOCH + index * STEP_S,
        "is_email_confirmed": not is_bot, "who_can_share_contact_card": "EVERYONE",
    }


def bot_user() -> dict[str, Any]:
    return {"id": BOT_USER_ID, "team_id": TEAM_ID, "name": "connectus", "deleted": False,
            "real_name": "Connectus", "is_bot": True, "is_app_user": False, "updated": EPOCH,
            "profile": {"real_name": "Connectus", "bot_id": BOT_ID, "api_app_id": APP_ID,
                        "always_active": True, "team": TEAM_ID}}


def ts_text(micro: int) -> str:
    return f"{micro // MICRO}.{micro % MICRO:06d}"


def parse_ts(text: str) -> int | None:
    """Slack ts strings ('1704067200.000123', '1704067200', '1704067200.5') as microseconds."""
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    return int(whole) * MICRO + int((frac + "000000")[:6])


def message_micro(ch: int, j: int) -> int:
    return (EPOCH + j * MSG_STEP_S) * MICRO + ch % MICRO


def generated_index(ds: Dataset, ch: int, micro: int) -> int | None:
    sec, frac = divmod(micro, MICRO)
    offset = sec - EPOCH
    if frac != ch % MICRO or offset < 0 or offset % MSG_STEP_S:
        return None
    j = offset // MSG_STEP_S
    return j if j < ds.count("messages") else None


def generated_message(ds: Dataset, ch: int, j: int) -> dict[str, Any]:
    ts = ts_text(message_micro(ch, j))
    edited = ds.overlay.get(f"messages:{ch}", {}).get(ts)
    if edited is not None:
        return edited
    rng = ds.rng(f"messages:{ch}", j)
    words = " ".join(rng.choice(_WORDS) for _ in range(3 + rng.randrange(12)))
    author = user_id(rng.randrange(max(ds.count("users"), 1)))
    message: dict[str, Any] = {"type": "message", "user": author, "text": words, "ts": ts,
                               "team": TEAM_ID}
    if j == 0:
        message.update(subtype="channel_join", text=f"<@{author}> has joined the channel")
    elif rng.random() < 0.1:
        message.update(thread_ts=ts, reply_count=1 + rng.randrange(5), reply_users_count=1,
                       latest_reply=ts_text(message_micro(ch, j) + 1))
    return message


def _j_bounds(ds: Dataset, ch: int, lo: int | None, lo_incl: bool,
              hi: int | None, hi_incl: bool) -> tuple[int, int]:
    """Generated message indices ``first..last`` whose ts lies inside the bounds."""
    base, step = EPOCH * MICRO + ch % MICRO, MSG_STEP_S * MICRO
    first, last = 0, ds.count("messages") - 1
    if lo is not None:
        first = max(first, -((base - lo) // step) if lo_incl else (lo - base) // step + 1)
    if hi is not None:
        last = min(last, (hi - base) // step if hi_incl else -((base - hi) // step) - 1)
    return first, last


def history(ds: Dataset, ch: int, *, lo: int | None, lo_incl: bool, hi: int | None,
            hi_incl: bool, limit: int, key: str | None = None,
            generated: bool = True) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` messages newest first inside the bounds, and whether more remain:
    a channel's (or, ``generated`` off, only those posted under ``key``, as in a DM).
    Thread replies stay in their thread unless broadcast, as on Slack."""
    first, last = _j_bounds(ds, ch, lo, lo_incl, hi, hi_incl) if generated else (0, -1)
    extras = []
    for ts, record, _ in ds.written(key or f"messages:{ch}"):
        micro = parse_ts(ts)
        if micro is None or (generated and generated_index(ds, ch, micro) is not None):
            continue
        thread = record.get("thread_ts")
        if thread and thread != ts and record.get("subtype") != "thread_broadcast":
            continue
        if lo is not None and (micro < lo or (micro == lo and not lo_incl)):
            continue
        if hi is not None and (micro > hi or (micro == hi and not hi_incl)):
            continue
        extras.append((micro, record))
    extras.sort(key=lambda item: item[0], reverse=True)

    def made() -> Iterator[tuple[int, dict[str, Any]]]:
        for j in range(last, first - 1, -1):
            yield message_micro(ch, j), generated_message(ds, ch, j)

    merged = heapq.merge(extras, made(), key=lambda item: item[0], reverse=True)
    page: list[dict[str, Any]] = []
    for _, record in merged:
        if len(page) == limit:
            return page, True
        page.append(record)
    return page, False
