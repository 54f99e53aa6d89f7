"""`graph.nt`: canonical N-Triples, one triple a line, sorted: the form to diff and load."""

from __future__ import annotations

from pyoxigraph import RdfFormat

from pipeline.exporters.base import ExportContext
from pipeline.rdfio import to_bytes


class NTriplesExporter:
    name = "ntriples"
    description = "the knowledge graph as sorted N-Triples (graph.nt)"

    def export(self, ctx: ExportContext) -> dict[str, bytes]:
        data = to_bytes(ctx.graph.triples, RdfFormat.N_TRIPLES)
        lines = data.splitlines(keepends=True)
        return {"graph.nt": b"".join(sorted(lines))}
