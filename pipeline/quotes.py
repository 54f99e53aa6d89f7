"""Anchoring verbatim quotes in source snapshots, whitespace-insensitively.

A snapshot is normalised once (runs of whitespace become one space) with a map back to the
original offsets, so a quote found in the normalised text can be reported as the exact
original substring, which is what a W3C `oa:TextQuoteSelector` must carry.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class NormalisedText:
    """Normalised text and, for each of its characters, the offset in the original."""

    original: str
    text: str
    offsets: Sequence[int]  # an array of 4-byte offsets: a catalogue has millions of characters

    @classmethod
    def of(cls, original: str) -> NormalisedText:
        """Whitespace runs become one space mapped to the run's start; leading and trailing
        whitespace is dropped. Built run by run (not character by character)."""
        parts: list[str] = []
        offsets = array("I")
        pos, end = 0, len(original)
        for m in _WS.finditer(original):
            start, stop = m.span()
            if start > pos:
                parts.append(original[pos:start])
                offsets.extend(range(pos, start))
            if parts and stop < end:
                parts.append(" ")
                offsets.append(start)
            pos = stop
        if pos < end:
            parts.append(original[pos:])
            offsets.extend(range(pos, end))
        return cls(original, "".join(parts), offsets)

    def original_span(self, start: int, end: int) -> str:
        """The original substring behind normalised [start, end)."""
        if start >= end:
            return ""
        return self.original[self.offsets[start] : self.offsets[end - 1] + 1]


class QuoteStatus(StrEnum):
    FOUND = "found"
    MISSING = "missing"
    CONTEXT_MISMATCH = "context-mismatch"  # the quote exists but not with this prefix/suffix
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class QuoteMatch:
    status: QuoteStatus
    count: int = 0  # occurrences of the quote alone (for messages)
    exact: str | None = None  # the original text of the single match
    start: int = -1  # normalised offset of the single match


def find_all(haystack: str, needle: str, lo: int = 0, hi: int | None = None) -> list[int]:
    hi = len(haystack) if hi is None else hi
    hits = []
    i = haystack.find(needle, lo, hi)
    while i != -1:
        hits.append(i)
        i = haystack.find(needle, i + 1, hi)
    return hits


def locate(
    text: NormalisedText,
    quote: str,
    prefix: str | None = None,
    suffix: str | None = None,
    region: tuple[int, int] | None = None,
) -> QuoteMatch:
    """Find `quote` (with its optional context) exactly once inside `region` of `text`."""
    lo, hi = region or (0, len(text.text))
    q = normalise(quote)
    hits = find_all(text.text, q, lo, hi)
    if not hits:
        return QuoteMatch(QuoteStatus.MISSING)
    p = normalise(prefix) if prefix else ""
    s = normalise(suffix) if suffix else ""
    good = [
        h
        for h in hits
        if (not p or text.text[lo:h].rstrip().endswith(p))
        and (not s or text.text[h + len(q) : hi].lstrip().startswith(s))
    ]
    if not good:
        return QuoteMatch(QuoteStatus.CONTEXT_MISMATCH, len(hits))
    if len(good) > 1:
        return QuoteMatch(QuoteStatus.AMBIGUOUS, len(good))
    h = good[0]
    return QuoteMatch(QuoteStatus.FOUND, len(hits), text.original_span(h, h + len(q)), h)


def region_bounds(text: NormalisedText, start: str, end: str | None) -> tuple[int, int] | None:
    """Normalised [lo, hi) of a region given by its verbatim first and last words, or None."""
    s = normalise(start)
    starts = find_all(text.text, s)
    if len(starts) != 1:
        return None
    lo = starts[0]
    if end is None:
        return lo, len(text.text)
    e = normalise(end)
    ends = find_all(text.text, e, lo)
    if len(ends) != 1:
        return None
    return lo, ends[0] + len(e)
