"""Three-way merge of one record of a both-ways flow: what Connectus holds, what the
provider sent, and what both last agreed on.

Each side's change is found against its own snapshot: Connectus's in Connectus's terms
(``data`` against ``base``), the provider's in the provider's terms (the raw value at the
mapping's path against ``remote_base``, what the provider held when both last agreed).
So the echo of Connectus's own write, which comes back as exactly what was written, is
no change at all and is dropped, even where the inbound rules would turn it into
something else (a lower-cased e-mail address); and a provider that reformats a value it
was sent (a phone number) changes it once, on its side, and the reformatted value flows
in without anything being written back. Nothing here writes to the provider: that is
decided later, from ``data`` against ``base`` (``pending_fields``).

For each field, by its owner:

    provider changed,  Connectus did not    -> the provider's value, both agree
    Connectus changed, the provider did not -> kept, to be written out
    both changed to the same value          -> agreed
    both changed, differently:
        owner provider                      -> the provider's value
        owner connectus                     -> Connectus's, to be written out
        owner both, policy newest_wins      -> the later change (a tie: the provider's)
        owner both, policy owner            -> a conflict: both versions kept for a
                                               person, the field held (neither side is
                                               written) until it is settled

A field Connectus owns is never taken in: the provider's change to it is noted (so it is
not seen again as a change) and left there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobs.sync.sides import Side

_NEVER = object()  # no agreed value yet: the record was never in step with the provider


@dataclass(frozen=True)
class Local:
    """A record as Connectus holds it."""

    data: dict[str, Any]
    base: dict[str, Any] | None  # None: never agreed with the provider
    remote_base: dict[str, Any] | None
    changed_at: datetime | None  # when a person (or the agent) last changed it here
    held: frozenset[str] = frozenset()  # fields in an open conflict


@dataclass(frozen=True)
class Incoming:
    """A record as the provider sent it."""

    data: dict[str, Any]  # mapped: Connectus's field names and values
    raw: dict[str, Any]  # the provider's own values, by the path of each pushable side
    at: datetime | None  # the provider's change time (the stream's cursor field)


@dataclass
class Merged:
    data: dict[str, Any]
    base: dict[str, Any]
    remote_base: dict[str, Any]
    # newly found or seen again: field -> (Connectus's value, the provider's, the agreed)
    conflicts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # fields in conflict after this merge
    news: bool = False  # the provider changed something Connectus did not know


def fresh(incoming: Incoming) -> Merged:
    """A record Connectus did not hold: the provider's version, agreed."""
    return Merged(dict(incoming.data), dict(incoming.data), dict(incoming.raw), news=True)


def merge(sides: Iterable[Side], policy: str, local: Local, incoming: Incoming) -> Merged:
    data = dict(local.data)
    agreed = local.base
    base = dict(agreed or {})
    remote_base = dict(local.remote_base or {})
    out = Merged(data, base, remote_base)
    for side in sides:
        name = side.local
        theirs = incoming.data.get(name)
        ours = data.get(name)
        before = _NEVER if agreed is None else base.get(name)
        if side.owner == "provider":  # flows in only, whatever happened here
            if theirs != ours or before != theirs:
                out.news = out.news or before != theirs
                data[name] = base[name] = theirs
            continue
        assert side.path is not None
        sent = incoming.raw.get(side.path)
        if before is _NEVER:
            moved_there, moved_here = True, name in data
        else:
            moved_there = (sent != remote_base[side.path] if side.path in remote_base
                           else theirs != before)
            moved_here = ours != before
        remote_base[side.path] = sent
        if not moved_there:
            continue
        out.news = True
        if not moved_here:
            if side.owner == "both" or before is _NEVER:
                data[name] = base[name] = theirs
            continue  # a field Connectus owns: the provider's change is not taken in
        newer = _local_is_newer(policy, local, incoming)
        if theirs == ours:
            base[name] = theirs
        elif side.owner == "connectus" or newer is True:
            base[name] = theirs  # ours differs from what the provider now holds: written out
        elif newer is False:
            data[name] = base[name] = theirs
        else:
            out.conflicts[name] = (ours, theirs, None if before is _NEVER else before)
    out.held = set(out.conflicts) | {
        f for f in local.held if f not in out.conflicts and data.get(f) != base.get(f)}
    return out


def _local_is_newer(policy: str, local: Local, incoming: Incoming) -> bool | None:
    """newest_wins: whether Connectus's change is the later one; None when the policy is
    not newest_wins or a time is missing (then a person decides)."""
    if policy != "newest_wins" or local.changed_at is None or incoming.at is None:
        return None
    return local.changed_at > incoming.at


def pending_fields(sides: Iterable[Side], data: dict[str, Any], base: dict[str, Any] | None,
                   held: Iterable[str] = ()) -> list[Side]:
    """The pushable sides whose Connectus value the provider does not hold yet."""
    skip = set(held)
    out = []
    for side in sides:
        if not side.pushable or side.local in skip:
            continue
        if base is None:
            if side.local in data:
                out.append(side)
        elif data.get(side.local) != base.get(side.local):
            out.append(side)
    return out


def settle(keep: str, fields: Iterable[str], data: dict[str, Any], base: dict[str, Any] | None,
           remote: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A person's answer to a conflict, as (data, base): "remote" takes the provider's
    values here; "local" keeps Connectus's and records that the provider holds the other,
    so the next outbound pass writes Connectus's values there."""
    data, base = dict(data), dict(base or {})
    for name in fields:
        if keep == "remote":
            data[name] = remote.get(name)
        base[name] = remote.get(name)
    return data, base
