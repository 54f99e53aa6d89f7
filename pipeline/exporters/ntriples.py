"""`graph.nt`: canonical N-Triples, one triple a line, sorted: the form to diff and load."""

from __future__ import annotations

from collections.abc import Iterator

from pyoxigraph import RdfFormat

from pipeline.exporters.base import Chunks, ExportContext, Output
from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import to_bytes

BATCH = 100_000  # triples serialised at a time: N-Triples lines stand alone


def ntriples(kg: KnowledgeGraph, batch: int = BATCH) -> Chunks:
    """The graph's lines in order. `kg.triples` is sorted by `str`, which is the byte order of
    the lines (a triple's line is its `str` and " .", and no triple's text is a prefix of
    another's up to a character that sorts below the space), so nothing is re-sorted."""

    def produce() -> Iterator[bytes]:
        for start in range(0, len(kg.triples), batch):
            yield to_bytes(kg.triples[start : start + batch], RdfFormat.N_TRIPLES)

    return Chunks(produce)


class NTriplesExporter:
    name = "ntriples"
    description = "the knowledge graph as sorted N-Triples (graph.nt)"

    def export(self, ctx: ExportContext) -> dict[str, Output]:
        return {"graph.nt": ntriples(ctx.graph)}
