"""Which way each field of a flow goes, and how the provider is told which record is meant.

The mapping's two ends, by direction:

    inbound        source: a provider path      -> target: a Connectus field
    outbound       source: a Connectus field    -> target: a provider field
                   (rules apply on the way out: Connectus's value is transformed)
    bidirectional  the inbound pairs, read both ways: provider path <-> Connectus field.
                   Rules apply on the way in only; on the way out Connectus's value is
                   written as it is, to the one provider field the mapping reads.

A both-ways field has an owner (``DataFlow.field_owners``, by Connectus field name):
"provider" (it flows in only; Connectus may not change it), "connectus" (it flows out
only; the provider's own changes to it are not taken in) or "both" (either side may
change it; a change on both sides is settled by the flow's ``conflict_policy``). A field
that cannot be written back (one the provider sets itself, or one made of several
provider fields) is the provider's; the others default to "both".

Outbound writes must be safe to repeat, so only writes with a ``key`` are used: an
update by the provider's id (a record whose id Connectus knows) or an upsert by a
unique field (any other). A create could not be repeated after a lost answer without
making a second record, so a stream that offers only creates takes no outbound flow.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.spec import ConnectorSpec, Stream, Write
from jobs.mapping import FieldMapping
from jobs.mapping.parse import FIELDS_ROOT
from store.errors import ValidationFailed
from store.models.integrations import FIELD_OWNERS

KEYED = ("update", "upsert")


def provider_field(path: str) -> str:
    """The name a write sets for a read path: HubSpot's ``properties.email`` is written as
    ``email`` (its writes put the properties in place themselves)."""
    head, _, rest = path.partition(".")
    return rest if head == FIELDS_ROOT and rest else path


def target_at(mapping: FieldMapping) -> str:
    """Where the configuration names a mapping's target."""
    if mapping.where.startswith("source_fields"):
        return mapping.where.replace("source_fields", "target_fields")
    return f"{mapping.where}.target"


def _hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- how a record is addressed -------------------------------------------------------------


@dataclass(frozen=True)
class Addressing:
    """The stream's repeatable writes: by the provider's id, and by a unique field."""

    provider: str
    stream: str
    update: Write | None
    upsert: Write | None
    update_key: str | None = None  # the record field each one reads its key from
    upsert_key: str | None = None

    @property
    def batch_size(self) -> int:
        return min(w.batch_size for w in (self.update, self.upsert) if w is not None)

    def filled(self, context: Mapping[str, Any]) -> Addressing:
        """With the keys' {placeholders} filled from the connector's context (Salesforce's
        upsert matches on the field the setting external_id_field names)."""
        def fill(write: Write | None) -> str | None:
            return write.key.format(**context) if write is not None and write.key else None
        return Addressing(self.provider, self.stream, self.update, self.upsert,
                          fill(self.update), fill(self.upsert))

    def keys(self) -> list[str]:
        """The keys known before connecting (no placeholders), upsert's first."""
        found = [w.key for w in (self.upsert, self.update) if w is not None and w.key]
        return [k for k in found if "{" not in k]


def addressing(spec: ConnectorSpec, stream: Stream) -> Addressing | None:
    """The stream's keyed writes (``{stream}.update``, ``{stream}.upsert``); None if none."""
    found: dict[str, Write] = {}
    for kind in KEYED:
        for write in spec.writes:
            if write.name == f"{stream.name}.{kind}" and write.kind == kind and write.key:
                found[kind] = write
    if not found:
        return None
    update, upsert = found.get("update"), found.get("upsert")
    return Addressing(spec.name, stream.name, update, upsert,
                      update.key if update else None, upsert.key if upsert else None)


def require_addressing(spec: ConnectorSpec, stream: Stream) -> Addressing:
    found = addressing(spec, stream)
    if found is None:
        offered = ", ".join(w.name for w in spec.writes
                            if w.name.startswith(f"{stream.name}.")) or "none"
        raise ValidationFailed(
            f"{spec.name} offers no repeatable batch write for {stream.name} (an update by "
            f"id or an upsert by a unique field; its writes: {offered}), so Connectus "
            "cannot write it without risking duplicates; use an inbound flow",
            field="direction")
    return found


# -- outbound: Connectus fields -> provider fields --------------------------------------


def check_outbound(spec: ConnectorSpec, stream: Stream, mappings: list[FieldMapping]) -> None:
    """Every target is a field a write may set, and one of them says which record is
    meant (the upsert's key, or the provider's id for an update)."""
    found = require_addressing(spec, stream)
    writable = set(stream.writable())
    keys = found.keys()
    targets = {provider_field(m.target).split(".")[0] for m in mappings}
    if writable:
        for mapping in mappings:
            name = provider_field(mapping.target)
            head = name.split(".")[0]
            if head in writable or name in keys:
                continue
            if head in {*stream.fields, stream.primary_key, stream.cursor_field}:
                why = f"{name!r} is set by {spec.name} itself and cannot be written"
            else:
                why = (f"{spec.name} {stream.name} has no field {name!r} a write may set"
                       f"{_hint(head, writable)}")
            raise ValidationFailed(why, field=target_at(mapping))
    if keys and not targets & set(keys):
        how = " or ".join(repr(k) for k in keys)
        raise ValidationFailed(
            f"map a field to {how}: it is how {spec.name} knows which {stream.name} record "
            "a write is for", field="target_fields" if mappings and mappings[0].where
            .startswith("source_fields") else "mappings")


# -- both ways: provider path <-> Connectus field -----------------------------------------


@dataclass(frozen=True)
class Side:
    """One field of a both-ways flow."""

    local: str  # Connectus's field name: the mapping's target
    path: str | None  # the provider path the mapping reads; None for several of them
    owner: str  # provider | connectus | both

    @property
    def pushable(self) -> bool:
        return self.owner != "provider" and self.path is not None

    @property
    def written_as(self) -> str:
        assert self.path is not None
        return provider_field(self.path)


def both_ways_sides(spec: ConnectorSpec, stream: Stream, mappings: list[FieldMapping],
                    owners: Mapping[str, Any], kept: Mapping[str, Any] | None = None
                    ) -> list[Side]:
    """Each mapping as a Side with its owner; raises, naming the place, for a target that
    is not one plain name, an owner for no field, or a field that cannot flow out given
    an owner that says it does. ``kept``: owners saved before (a mapping change keeps
    them where they still apply; a field that can no longer flow out becomes the
    provider's)."""
    kept = kept or {}
    targets = [m.target for m in mappings]
    for name, owner in owners.items():
        if name not in targets:
            raise ValidationFailed(f"names {name!r}, which is not one of this flow's fields"
                                   f"{_hint(str(name), targets)}", field=f"field_owners.{name}")
        if owner not in FIELD_OWNERS:
            raise ValidationFailed(f"must be one of {', '.join(FIELD_OWNERS)}; got {owner!r}",
                                   field=f"field_owners.{name}")
    writable = set(stream.writable())
    sides = []
    for mapping in mappings:
        if "." in mapping.target:
            raise ValidationFailed(f"{mapping.target!r}: a both-ways field is one plain name "
                                   "in Connectus's record (no dots)", field=target_at(mapping))
        path = mapping.source if isinstance(mapping.source, str) else None
        head = provider_field(path).split(".")[0] if path else None
        why = None
        if path is None:
            why = "is made of several provider fields"
        elif writable and head not in writable:
            why = f"reads {path!r}, which {spec.name} sets itself"
        owner = owners.get(mapping.target)
        if why is not None and owner not in (None, "provider"):
            raise ValidationFailed(f"{mapping.target!r} {why}, so it can only flow in: its "
                                   "owner must be 'provider'",
                                   field=f"field_owners.{mapping.target}")
        if owner is None and why is None and kept.get(mapping.target) in FIELD_OWNERS:
            owner = kept[mapping.target]
        sides.append(Side(mapping.target, path if why is None else None,
                          owner or ("provider" if why else "both")))
    if any(side.pushable for side in sides):
        found = require_addressing(spec, stream)
        if found.update is None and found.upsert_key and "{" not in found.upsert_key \
                and found.upsert_key not in {s.written_as for s in sides if s.path}:
            raise ValidationFailed(
                f"map {found.upsert_key!r}: {spec.name} finds {stream.name} records only by "
                "it when Connectus writes them", field="source_fields" if mappings[0].where
                .startswith("source_fields") else "mappings")
    return sides


def effective_owners(sides: list[Side]) -> dict[str, str]:
    return {side.local: side.owner for side in sides}
