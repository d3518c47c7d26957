"""Deterministic, lazily generated records plus an overlay of writes and tombstones.

Records are generated on demand from ``(seed, object, index)``; a million
records cost nothing until read. Record ``i`` was last modified at
``EPOCH + i * step`` so a "modified since" filter is index arithmetic, and
writes (or the "changes mid-sync" fault) land in an overlay that is newer than
every generated record. Deletes leave a ``Tombstone`` (when, and the record as
last written) for providers that still serve deleted records. Offset paging over
such a set lives in ``sequence``.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# 2024-01-01T00:00:00Z: generated records were modified after this instant, in index order.
EPOCH = 1_704_067_200


@dataclass(frozen=True)
class Tombstone:
    """What a delete leaves behind, for providers that still serve deleted records."""

    deleted_at: float
    # The record as last written; None when it was only ever generated (regenerate it).
    last_written: dict[str, Any] | None


@dataclass
class Dataset:
    """Deterministic, lazily generated records plus an overlay of writes.

    ``make(object_name, index, rng)`` is supplied by the simulator and returns
    the provider-shaped record body for one index; the dataset adds nothing to
    it, so each simulator owns its wire shape.
    """

    seed: int
    counts: dict[str, int]
    make: Callable[[str, int, random.Random], dict[str, Any]]
    step_s: int = 60
    overlay: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    overlay_time: dict[str, dict[str, float]] = field(default_factory=dict)
    # each object's newest write time, kept as written: the max over overlay_time made
    # every write cost as much as the writes before it (a bench's 30k Slack messages)
    latest_write: dict[str, float] = field(default_factory=dict)
    tombstones: dict[str, dict[str, Tombstone]] = field(default_factory=dict)

    def rng(self, object_name: str, index: int) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{object_name}:{index}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def count(self, object_name: str) -> int:
        return self.counts.get(object_name, 0)

    def modified_at(self, index: int) -> float:
        return float(EPOCH + index * self.step_s)

    def generated(self, object_name: str, index: int) -> dict[str, Any]:
        return self.make(object_name, index, self.rng(object_name, index))

    def first_index_modified_after(self, ts: float) -> int:
        """Smallest generated index whose modification time is >= ts."""
        if ts <= EPOCH:
            return 0
        return int(-(-(ts - EPOCH) // self.step_s))

    def put(self, object_name: str, key: str, record: dict[str, Any]) -> float:
        """Store a written record; returns its modification time (now, strictly increasing)."""
        now = max(time.time(), self.latest_write.get(object_name, 0.0) + 0.001)
        self.overlay.setdefault(object_name, {})[key] = record
        self.overlay_time.setdefault(object_name, {})[key] = now
        self.latest_write[object_name] = now
        self.tombstones.get(object_name, {}).pop(key, None)
        return now

    def delete(self, object_name: str, key: str) -> float:
        """Delete a generated or written record; returns the deletion time."""
        now = time.time()
        last = self.overlay.get(object_name, {}).pop(key, None)
        self.tombstones.setdefault(object_name, {})[key] = Tombstone(now, last)
        return now

    def is_deleted(self, object_name: str, key: str) -> bool:
        return key in self.tombstones.get(object_name, {})

    def tombstone(self, object_name: str, key: str) -> Tombstone | None:
        return self.tombstones.get(object_name, {}).get(key)

    def deleted(self, object_name: str) -> Mapping[str, Tombstone]:
        """Deleted keys of an object and their tombstones, in deletion order."""
        return self.tombstones.get(object_name, {})

    def written(self, object_name: str) -> Iterator[tuple[str, dict[str, Any], float]]:
        """Overlay records in modification order: (key, record, modified_at)."""
        times = self.overlay_time.get(object_name, {})
        for key in sorted(self.overlay.get(object_name, {}), key=lambda k: times[k]):
            yield key, self.overlay[object_name][key], times[key]
