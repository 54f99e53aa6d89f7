"""Partitions of a sorted graph as ranges of subject keys, cut where the content says.

pipeline.partition validates a large graph a key range at a time. Cutting every `size`
triples would move every later cut when one edit adds or removes a triple; here a range ends
at a subject chosen by its own key, so an edit moves at most the cut after it, and the other
ranges' stores (and their results kept by pipeline.validcache) stay as they were: the idea
of content-defined chunking (as in rsync or restic), applied to subjects.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

Term = NamedNode | BlankNode | Literal | Triple
Bounds = tuple[str | None, str | None]  # a range's first key (None: from the start), and the next's


def key_of(term: Term) -> str:
    return str(term) if isinstance(term, Triple) else term.value


@dataclass(frozen=True)
class Slices:
    bounds: list[str]  # the first key of every partition but the first

    def of(self, key: str) -> int:
        return bisect.bisect_right(self.bounds, key)

    @property
    def count(self) -> int:
        return len(self.bounds) + 1

    def range(self, k: int) -> Bounds:
        """Partition k's keys: from the first (None: from the start) up to the second."""
        return (self.bounds[k - 1] if k else None, self.bounds[k] if k < len(self.bounds) else None)


def slices_of(subject: Callable[[int], Term], starts: Sequence[int], size: int) -> Slices:
    """Key ranges of about `size` triples each, over runs of triples by subject (run r is
    `subject(r)`'s, from `starts[r]` to `starts[r + 1]`). A range ends before a subject whose
    key's CRC-32 is a multiple of `size // 10` once it holds `size // 2` triples (or at
    `2 * size`, which bounds a store's memory): with about 5 triples a subject, as built,
    `size` on average. Adding or
    removing triples can only move the cut after them, and the one after that only if its
    subject is within the change's size of the half-full mark: the cuts soon fall back in
    step."""
    bounds: set[str] = set()
    low, every, high = size // 2, max(1, size // 10), 2 * size
    last = 0
    for r in range(1, len(starts) - 1):
        start = starts[r]
        if start - last < low:
            continue
        key = key_of(subject(r))
        if start - last >= high or zlib.crc32(key.encode()) % every == 0:
            bounds.add(key)
            last = start
    return Slices(sorted(bounds))


__all__ = ["Bounds", "Slices", "key_of", "slices_of"]
