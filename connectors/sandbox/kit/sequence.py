"""Offset paging over lazily generated records, shared by the Salesforce and Mailchimp simulators.

A result set is "generated indices ``lo <= i < hi`` whose ``i % period`` is one of
``residues``, minus the few that were overwritten or deleted, followed by the
written records". Counting it and finding the record at any offset is index
arithmetic plus a walk over the excluded indices, so its cost follows the
number of writes and the page size, never the record count.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Periodic:
    """Indices in ``[lo, hi)`` with ``i % period in residues`` (every index when period is 1)."""

    lo: int
    hi: int
    period: int = 1
    residues: tuple[int, ...] = (0,)

    def _below(self, n: int) -> int:
        """How many matching indices lie in ``[0, n)``."""
        if n <= 0:
            return 0
        whole, rest = divmod(n, self.period)
        return whole * len(self.residues) + sum(1 for r in self.residues if r < rest)

    def count(self) -> int:
        return max(0, self._below(self.hi) - self._below(self.lo))

    def matches(self, index: int) -> bool:
        return self.lo <= index < self.hi and index % self.period in self.residues

    def nth(self, k: int) -> int:
        """The k-th (0-based) matching index at or after ``lo``; may be >= hi."""
        rank = self._below(self.lo) + k
        whole, pos = divmod(rank, len(self.residues))
        return whole * self.period + sorted(self.residues)[pos]


@dataclass
class View:
    """A frozen result set: generated part (minus ``excluded``) then ``tail`` keys."""

    gen: Periodic
    excluded: list[int] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, gen: Periodic, overwritten: Iterable[int], tail: list[str]) -> View:
        excluded = sorted({i for i in overwritten if gen.matches(i)})
        return cls(gen, excluded, tail)

    @property
    def generated_total(self) -> int:
        return self.gen.count() - len(self.excluded)

    @property
    def total(self) -> int:
        return self.generated_total + len(self.tail)

    def page(self, offset: int, limit: int) -> Iterator[int | str]:
        """Generated indices (int) then tail keys (str) for ``[offset, offset + limit)``."""
        end = min(offset + limit, self.total)
        gen_total = self.generated_total
        if offset < gen_total:
            yield from self._generated(offset, min(end, gen_total) - offset)
        for k in range(max(offset, gen_total), end):
            yield self.tail[k - gen_total]

    def _generated(self, offset: int, count: int) -> Iterator[int]:
        k = offset
        index = self.gen.nth(k)
        # Each excluded index at or before the candidate pushes it one match further.
        for skipped in self.excluded:
            if skipped > index:
                break
            k += 1
            index = self.gen.nth(k)
        excluded = set(self.excluded[bisect.bisect_left(self.excluded, index):])
        produced = 0
        while produced < count and index < self.gen.hi:
            if self.gen.matches(index) and index not in excluded:
                yield index
                produced += 1
            index += 1
