"""The explicit registry of exporters; `crampkg build` runs them in this order."""

from __future__ import annotations

from pipeline.exporters.api import ApiExporter
from pipeline.exporters.base import ExportContext, Exporter
from pipeline.exporters.jsonld import JsonLdExporter
from pipeline.exporters.ntriples import NTriplesExporter
from pipeline.exporters.ontology import OntologyExporter
from pipeline.exporters.ontology_doc import OntologyDocExporter
from pipeline.exporters.schemaorg import SchemaOrgExporter
from pipeline.exporters.site import SiteExporter
from pipeline.exporters.turtle import TurtleExporter
from pipeline.exporters.validation import ValidationReportExporter
from pipeline.exporters.void import VoidExporter

EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        TurtleExporter(),
        NTriplesExporter(),
        JsonLdExporter(),
        OntologyExporter(),
        ApiExporter(),
        SchemaOrgExporter(),
        SiteExporter(),
        VoidExporter(),
        OntologyDocExporter(),
        ValidationReportExporter(),  # last: exporters may add findings (schema.org checks)
    )
}

__all__ = ["EXPORTERS", "ExportContext", "Exporter"]
