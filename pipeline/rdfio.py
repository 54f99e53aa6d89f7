"""The built graph's triple type, and thin typed wrappers over pyoxigraph's serializer."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize


class Statement(NamedTuple):
    """One triple of the built graph: three references to terms the graph shares.

    A pyoxigraph `Triple` keeps its own copy of its three terms, about 400 bytes, and makes
    new Python objects each time one is read; this tuple is 72 bytes and points at the
    graph's one `NamedNode` per IRI (at 3,000 conditions the built graph went from 729 to
    301 MB). It reads like a
    `Triple` (`.subject`, `.predicate`, `.object`), and its `str` is a `Triple`'s, the
    N-Triples line without " .", so sorting by `str` orders both alike."""

    subject: NamedNode
    predicate: NamedNode
    object: NamedNode | Literal

    def __str__(self) -> str:
        return f"{self.subject} {self.predicate} {self.object}"


AnyTriple = Triple | Statement


def _triples(triples: Iterable[AnyTriple]) -> Iterator[Triple]:
    for t in triples:
        yield t if type(t) is Triple else Triple(*t)


def to_bytes(
    triples: Iterable[AnyTriple],
    fmt: RdfFormat,
    prefixes: dict[str, str] | None = None,
    base: str | None = None,
) -> bytes:
    """Serialize to bytes (pyoxigraph returns None only when given an output stream)."""
    data = serialize(_triples(triples), format=fmt, prefixes=prefixes, base_iri=base)
    assert data is not None
    return data


class _NTriplesReader(io.RawIOBase):
    """A readable stream of the triples as N-Triples, serialised a batch at a time."""

    def __init__(self, triples: Sequence[AnyTriple], batch: int):
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


def ntriples_stream(triples: Sequence[AnyTriple], batch: int = 50_000) -> io.BufferedReader:
    """The triples as an N-Triples stream for a parser, never whole in memory (a catalogue's
    graph is close to a gigabyte of N-Triples)."""
    return io.BufferedReader(_NTriplesReader(triples, batch), 1 << 20)
