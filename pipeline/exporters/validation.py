"""`validation/report.ttl` (a SHACL validation report) and `validation/report.txt`.

The report graph is rebuilt from the collected problems rather than copied from pySHACL, and
its blank nodes are labelled by RDFC-1.0, so the file is byte-identical from build to build.
"""

from __future__ import annotations

from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
)

from pipeline.exporters.base import ExportContext
from pipeline.rdfio import to_bytes
from pipeline.report import Severity
from pipeline.vocab import RDF, RDFS, SH

_SH_SEVERITY = {Severity.VIOLATION: "Violation", Severity.WARNING: "Warning", Severity.INFO: "Info"}


class ValidationReportExporter:
    name = "validation"
    description = "the validation report as SHACL Turtle and as text"

    def export(self, ctx: ExportContext) -> dict[str, bytes]:
        report = BlankNode("report")
        triples = [
            Triple(report, NamedNode(RDF + "type"), NamedNode(SH + "ValidationReport")),
            Triple(report, NamedNode(SH + "conforms"), Literal(ctx.report.conforms)),
        ]
        for i, p in enumerate(ctx.report.sorted(), start=1):
            r = BlankNode(f"r{i:05d}")
            triples += [
                Triple(report, NamedNode(SH + "result"), r),
                Triple(r, NamedNode(RDF + "type"), NamedNode(SH + "ValidationResult")),
                Triple(
                    r, NamedNode(SH + "resultSeverity"), NamedNode(SH + _SH_SEVERITY[p.severity])
                ),
                Triple(r, NamedNode(SH + "resultMessage"), Literal(p.message, language="en")),
                Triple(
                    r,
                    NamedNode(SH + "sourceConstraintComponent"),
                    NamedNode(f"https://w3id.org/crampkg/rules#{p.rule}"),
                ),
            ]
            if p.node:
                triples.append(Triple(r, NamedNode(SH + "focusNode"), NamedNode(p.node)))
            if p.location:
                triples.append(Triple(r, NamedNode(RDFS + "seeAlso"), Literal(str(p.location))))
        # RDFC-1.0 canonical labels (_:c14n0, ...): the same report always reads the same,
        # whatever order the problems were found in, and tools can compare reports.
        dataset = Dataset(Quad(t.subject, t.predicate, t.object) for t in triples)
        dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
        canonical = sorted((Triple(q.subject, q.predicate, q.object) for q in dataset), key=str)
        ttl = to_bytes(canonical, RdfFormat.TURTLE, {"sh": SH, "rdf": RDF, "rdfs": RDFS})
        return {
            "validation/report.ttl": ttl,
            "validation/report.txt": ctx.report.to_text(ctx.graph.base).encode(),
        }
