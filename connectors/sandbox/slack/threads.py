"""Where messages live and how threads hang together: DMs, replies, edits.

A channel's posted messages sit in the dataset overlay under ``messages:<index>``
(beside its generated ones); a DM's under ``messages:<D id>``, with none generated.
DM ``D06`` + base-36 ``i`` is the bot's conversation with user ``i``. A reply carries
its parent's ``thread_ts``; as on Slack, replies are left out of
``conversations.history`` (unless broadcast) and listed by ``conversations.replies``,
parent first, and the parent counts them (``reply_count``, ``reply_users``,
``latest_reply``).
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.kit import Dataset
from connectors.sandbox.slack import data

DM_PREFIX = "D06"


def dm_channel(box_users: int, value: str) -> dict[str, Any] | None:
    """The bot's DM with user ``i`` for ``D06`` + base-36 ``i``, as conversations.info
    shows an im."""
    index = data.decode_id(DM_PREFIX, value)
    if index is None or index >= box_users:
        return None
    return {"id": value, "created": data.EPOCH, "is_im": True, "is_channel": False,
            "is_group": False, "is_mpim": False, "is_private": True, "is_archived": False,
            "is_member": True, "is_org_shared": False, "user": data.user_id(index),
            "is_user_deleted": False, "priority": 0, "context_team_id": data.TEAM_ID}


def dm_id(user: str) -> str | None:
    index = data.decode_id("U06", user)
    return None if index is None else data.encode_id(DM_PREFIX, index)


def store_key(channel: dict[str, Any]) -> str:
    if channel.get("is_im"):
        return f"messages:{channel['id']}"
    return f"messages:{data.decode_id('C06', channel['id']) or 0}"


def is_reply(message: dict[str, Any]) -> bool:
    thread = message.get("thread_ts")
    return bool(thread) and thread != message.get("ts") and \
        message.get("subtype") != "thread_broadcast"


def find(ds: Dataset, channel: dict[str, Any], ts: str) -> dict[str, Any] | None:
    """A posted message, or (in a channel) a generated one, by its ts."""
    key = store_key(channel)
    posted = ds.overlay.get(key, {}).get(ts)
    if posted is not None or channel.get("is_im"):
        return posted
    index = data.decode_id("C06", channel["id"]) or 0
    micro = data.parse_ts(ts)
    j = data.generated_index(ds, index, micro) if micro is not None else None
    return None if j is None else data.generated_message(ds, index, j)


def save(ds: Dataset, channel: dict[str, Any], message: dict[str, Any]) -> None:
    ds.put(store_key(channel), message["ts"], message)


def replies(ds: Dataset, channel: dict[str, Any], ts: str) -> list[dict[str, Any]] | None:
    """The thread of ``ts`` oldest first, parent first; None when there is no such message."""
    parent = find(ds, channel, ts)
    if parent is None:
        return None
    children = [record for _, record, _ in ds.written(store_key(channel))
                if record.get("thread_ts") == ts and record["ts"] != ts]
    children.sort(key=lambda m: data.parse_ts(m["ts"]) or 0)
    return [parent, *children]


def note_reply(ds: Dataset, channel: dict[str, Any], reply: dict[str, Any]) -> None:
    """The parent of a new reply counts it, as Slack's parent messages do."""
    parent = find(ds, channel, str(reply["thread_ts"]))
    if parent is None:
        return
    parent = dict(parent)
    users = [u for u in parent.get("reply_users", []) if u != reply.get("user")]
    parent.update(thread_ts=parent["ts"], reply_count=int(parent.get("reply_count", 0)) + 1,
                  reply_users=[*users, reply.get("user")], latest_reply=reply["ts"])
    parent["reply_users_count"] = len(parent["reply_users"])
    save(ds, channel, parent)
