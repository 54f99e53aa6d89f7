"""Thin typed wrappers over pyoxigraph's serializer."""

from __future__ import annotations

from collections.abc import Iterable

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
