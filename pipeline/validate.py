"""Validate stage: SHACL over the built graph with pySHACL, results mapped back to the YAML.

pySHACL needs an rdflib graph, so the sorted triples are handed over as N-Triples (the fastest
rdflib parser). No inference is run: the graph states every type it relies on. The shapes are
parsed locally; nothing is fetched (no owl:imports are followed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import to_bytes
from pipeline.report import Location, Problem, Severity, Stage
from pipeline.resources import shapes_files

_SEVERITY = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING, SH.Info: Severity.INFO}


@dataclass
class ValidationOutcome:
    conforms: bool
    problems: list[Problem]


def load_shapes(paths: list[Path] | None = None) -> Graph:
    shapes = Graph()
    for path in paths if paths is not None else shapes_files():
        shapes.parse(path, format="turtle")
    return shapes


def to_rdflib(kg: KnowledgeGraph) -> Graph:
    g = Graph()
    g.parse(data=to_bytes(kg.triples, RdfFormat.N_TRIPLES), format="nt")
    return g


def _where(kg: KnowledgeGraph, focus: str) -> Location | None:
    """The YAML position of a node, or of the nearest minted node above it in the IRI."""
    iri = focus
    while iri:
        if iri in kg.origins:
            return kg.origins[iri]
        if "/" not in iri:
            break
        iri = iri.rsplit("/", 1)[0]
    return None


def short(kg: KnowledgeGraph, iri: str) -> str:
    return iri.removeprefix(kg.base)


def validate_graph(kg: KnowledgeGraph, shapes: Graph | None = None) -> ValidationOutcome:
    from pyshacl import validate  # heavy import, only when validating

    conforms, results, _ = validate(
        to_rdflib(kg),
        shacl_graph=shapes if shapes is not None else load_shapes(),
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    problems: list[Problem] = []
    for result in results.subjects(URIRef(SH.resultSeverity), None):
        severity = _SEVERITY.get(results.value(result, SH.resultSeverity), Severity.VIOLATION)
        focus = str(results.value(result, SH.focusNode) or "")
        message = str(results.value(result, SH.resultMessage) or "constraint not met")
        shape = results.value(result, SH.sourceShape)
        component = str(results.value(result, SH.sourceConstraintComponent) or "shacl")
        rule = (str(shape) if isinstance(shape, URIRef) else component).rsplit("#", 1)[-1]
        value = results.value(result, SH.value)
        if value is not None and str(value) not in message and len(str(value)) < 200:
            message = f"{message} (value: {short(kg, str(value))})"
        problems.append(Problem(severity, Stage.SHACL, rule, message, _where(kg, focus), focus))
    return ValidationOutcome(
        bool(conforms) or not any(p.severity is Severity.VIOLATION for p in problems), problems
    )
