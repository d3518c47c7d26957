"""One agent thread per Slack thread: its id is made from team, channel and thread_ts,
so every replica finds the same thread in the PostgreSQL checkpointer without a
lookup of its own."""

from __future__ import annotations

import hashlib
import re

MAX_ID = 64  # agent/threads.py: letters, digits, '-' and '_', 1-64 of them
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_MENTION = re.compile(r"<@[A-Z0-9]+>")


def thread_id(team_id: str, channel: str, thread_ts: str) -> str:
    readable = _UNSAFE.sub("_", f"slack-{team_id}-{channel}-{thread_ts}")
    if len(readable) <= MAX_ID:
        return readable
    return "slack-" + hashlib.sha256(readable.encode()).hexdigest()[:40]


def question(text: str, bot_user_id: str | None) -> str:
    """The message without the mention of the bot (and with others kept as ids)."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    return " ".join(_MENTION.sub(lambda m: m.group(0)[2:-1], text).split())
