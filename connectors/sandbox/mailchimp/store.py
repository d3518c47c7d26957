"""Mailchimp simulator state on the box: members per audience, webhooks, in-flight calls.

Members are keyed by subscriber hash. MD5 cannot be inverted, so the store keeps a
memo ``hash -> generated index`` for members it has served or written (its size
follows what was read, not the audience size). A hash never served can still be
found when the caller gives the email address (the index is in it), which every
write and Mailchimp's own email-in-place-of-hash form do.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from connectors.sandbox.kit import Dataset
from connectors.sandbox.kit.sequence import Periodic, View
from connectors.sandbox.mailchimp.data import (
    DEFAULT_COUNTS,
    LISTS,
    STATUS_PATTERN,
    generate_member,
    index_in_email,
    render_member,
    residues,
    subscriber_hash,
)
from connectors.sandbox.mailchimp.state import Box

Found = tuple[str, dict[str, Any] | None, float, int | None]  # hash, member, modified, index


def dataset(box: Box) -> Dataset:
    return box.dataset(DEFAULT_COUNTS, generate_member)


def list_spec(list_id: str) -> tuple[str, int, str, int] | None:
    return next((spec for spec in LISTS if spec[0] == list_id), None)


def _memo(box: Box, list_id: str) -> dict[str, int]:
    return box.state.memo.setdefault(list_id, {})


def lookup(box: Box, list_id: str, segment: str) -> Found:
    """Find a member by subscriber hash or by email address (Mailchimp accepts both)."""
    raw = unquote(segment)
    email = raw if "@" in raw else None
    member_hash = subscriber_hash(raw) if email else raw.lower()
    if not re.fullmatch(r"[0-9a-f]{32}", member_hash):
        return member_hash, None, 0.0, None
    ds, memo = dataset(box), _memo(box, list_id)
    if member_hash in ds.overlay.get(list_id, {}):
        return (member_hash, ds.overlay[list_id][member_hash],
                ds.overlay_time[list_id][member_hash], memo.get(member_hash))
    if ds.is_deleted(list_id, member_hash):
        return member_hash, None, 0.0, memo.get(member_hash)
    index = memo.get(member_hash)
    if index is None and email:
        candidate = index_in_email(email)
        if candidate is not None and candidate < ds.count(list_id) and \
                ds.generated(list_id, candidate)["email_address"].lower() == email.lower():
            index = memo[member_hash] = candidate
    if index is not None and index < ds.count(list_id):
        return member_hash, ds.generated(list_id, index), ds.modified_at(index), index
    return member_hash, None, 0.0, None


def forgotten(box: Box, list_id: str, member_hash: str) -> bool:
    return dataset(box).is_deleted(list_id, member_hash)


def put_member(box: Box, list_id: str, member: dict[str, Any],
               index: int | None) -> float:
    if index is not None:
        _memo(box, list_id)[member["id"]] = index
    return dataset(box).put(list_id, member["id"], member)


def _touched_indices(box: Box, list_id: str) -> list[int]:
    ds, memo = dataset(box), _memo(box, list_id)
    touched = set(ds.overlay.get(list_id, {})) | ds.deleted(list_id).keys()
    return [memo[h] for h in touched if h in memo]


def member_view(box: Box, list_id: str, status: str | None,
                since: float | None, before: float | None) -> View:
    """Members changed in ``[since, before)`` with ``status`` (default: all but archived)."""
    ds = dataset(box)
    lo = ds.first_index_modified_after(since) if since is not None else 0
    hi = ds.count(list_id)
    if before is not None:
        hi = min(hi, ds.first_index_modified_after(before))
    if status is None:
        gen = Periodic(lo, max(lo, hi))
    elif status in STATUS_PATTERN:
        gen = Periodic(lo, max(lo, hi), len(STATUS_PATTERN), residues(status))
    else:
        gen = Periodic(0, 0)  # no generated member is transactional or archived
    tail = [h for h, rec, ts in ds.written(list_id)
            if (since is None or ts >= since) and (before is None or ts < before)
            and (rec["status"] == status if status else rec["status"] != "archived")]
    return View.build(gen, _touched_indices(box, list_id), tail)


def member_page(box: Box, list_id: str, view: View, offset: int, count: int,
                api: str) -> list[dict[str, Any]]:
    ds, memo = dataset(box), _memo(box, list_id)
    out = []
    for item in view.page(offset, count):
        if isinstance(item, int):
            member = ds.generated(list_id, item)
            memo[member["id"]] = item
            out.append(render_member(member, ds.modified_at(item), api))
        else:
            out.append(render_member(ds.overlay[list_id][item],
                                     ds.overlay_time[list_id][item], api))
    return out


def status_counts(box: Box, list_id: str) -> dict[str, int]:
    ds = dataset(box)
    n = ds.count(list_id)
    counts = {s: Periodic(0, n, len(STATUS_PATTERN), residues(s)).count()
              for s in set(STATUS_PATTERN)}
    for index in _touched_indices(box, list_id):
        counts[STATUS_PATTERN[index % len(STATUS_PATTERN)]] -= 1
    for member in ds.overlay.get(list_id, {}).values():
        counts[member["status"]] = counts.get(member["status"], 0) + 1
    return counts


def mutate_first_members(box: Box) -> None:
    """The "changes mid-sync" fault: member 0 of every audience gets edited now."""
    ds = dataset(box)
    for list_id, *_ in LISTS:
        if not ds.count(list_id):
            continue
        first = ds.generated(list_id, 0)
        member_hash, member, _, _ = lookup(box, list_id, first["id"])
        if member is None and not forgotten(box, list_id, member_hash):
            member = first
        if member is not None:
            merge = {**member["merge_fields"], "LNAME": f"{first['merge_fields']['LNAME']}*"}
            put_member(box, list_id, {**member, "merge_fields": merge}, 0)
