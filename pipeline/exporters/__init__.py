"""The explicit registry of exporters; `crampkg build` runs them in this order."""

from __future__ import annotations

from pipeline.exporters.base import ExportContext, Exporter
from pipeline.exporters.jsonld import JsonLdExporter
from pipeline.exporters.ntriples import NTriplesExporter
from pipeline.exporters.ontology import OntologyExporter
from pipeline.exporters.turtle import TurtleExporter
from pipeline.exporters.validation import ValidationReportExporter

EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        TurtleExporter(),
        NTriplesExporter(),
        JsonLdExporter(),
        OntologyExporter(),
        ValidationReportExporter(),
    )
}

__all__ = ["EXPORTERS", "ExportContext", "Exporter"]
