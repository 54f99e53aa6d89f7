"""`ontology.ttl`: the ontology the graph uses, published beside it unchanged."""

from __future__ import annotations

from pipeline.exporters.base import ExportContext
from pipeline.resources import ontology_file


class OntologyExporter:
    name = "ontology"
    description = "the OWL ontology (ontology.ttl)"

    def export(self, ctx: ExportContext) -> dict[str, bytes]:
        return {"ontology.ttl": ontology_file().read_bytes()}
