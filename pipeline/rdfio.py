"""Thin typed wrappers over pyoxigraph's serializer."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from pyoxigraph import RdfFormat, Triple, serialize


def to_bytes(
    triples: Iterable[Triple],
    fmt: RdfFormat,
    prefixes: dict[str, str] | None = None,
    base: str | None = None,
) -> bytes:
    """Serialize to bytes (pyoxigraph returns None only when given an output stream)."""
    data = serialize(triples, format=fmt, prefixes=prefixes, base_iri=base)
    assert data is not None
    return data


class _NTriplesReader(io.RawIOBase):
    """A readable stream of the triples as N-Triples, serialised a batch at a time."""

    def __init__(self, triples: Sequence[Triple], batch: int):
        self.triples, self.batch = triples, batch
        self.next, self.buf, self.off = 0, memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.off >= len(self.buf):
            if self.next >= len(self.triples):
                return 0
            chunk = self.triples[self.next : self.next + self.batch]
            self.buf, self.off = memoryview(to_bytes(chunk, RdfFormat.N_TRIPLES)), 0
            self.next += self.batch
        n = min(len(buffer), len(self.buf) - self.off)
        buffer[:n] = self.buf[self.off : self.off + n]
        self.off += n
        return n


def ntriples_stream(triples: Sequence[Triple], batch: int = 50_000) -> io.BufferedReader:
    """The triples as an N-Triples stream for a parser, never whole in memory (a catalogue's
    graph is close to a gigabyte of N-Triples)."""
    return io.BufferedReader(_NTriplesReader(triples, batch), 1 << 20)
