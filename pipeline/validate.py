"""Validate stage: SHACL over the built graph, results mapped back to the YAML.

`engine="oxigraph"` (the default) runs the core constraints compiled by `pipeline.shaclcore`
and the node-level SHACL-SPARQL constraints (`pipeline.sparqlbulk`, one query per constraint)
on pyoxigraph; a shape the compiler refuses is left to pySHACL. `engine="hybrid"` runs the
core constraints in pySHACL on an rdflib copy of the graph (handed over as N-Triples).
`engine="pyshacl"` runs everything in pySHACL, the reference the tests compare against.
No inference is run (the graph states every type it relies on) and nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pyoxigraph import BlankNode as OxBlankNode
from pyoxigraph import Literal as OxLiteral
from pyoxigraph import NamedNode as OxNamedNode
from pyoxigraph import RdfFormat
from pyoxigraph import parse as ox_parse
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import OWL, RDF, SH
from rdflib.term import Node

from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import AnyTriple, to_bytes
from pipeline.report import Location, Problem, Severity, Stage
from pipeline.resources import shapes_files
from pipeline.shaclcore import Targeted, Term, compile_shapes, needs_pyshacl
from pipeline.shaclexec import exact_store, run_core
from pipeline.sparqlbulk import run_bulk
from pipeline.sparqlshapes import (
    RawResult,
    SparqlConstraint,
    load_store,
    run_constraints,
    split_shapes,
)

if TYPE_CHECKING:
    from pipeline.cache import LoadCache
    from pipeline.partition import Memo

_SEVERITY = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING, SH.Info: Severity.INFO}


class ShapesError(ValueError):
    """Shapes that would make validation reach the network; the message says why."""


def check_shapes_offline(shapes: Graph) -> None:
    """Refuse shapes that ask for remote data: `owl:imports` (never followed, so the imported
    shapes would silently not apply) and SHACL-SPARQL with `SERVICE` (which rdflib and
    pyoxigraph would both execute)."""
    imported = sorted(str(o) for o in shapes.objects(None, OWL.imports))
    if imported:
        raise ShapesError(
            f"the shapes import <{imported[0]}> with owl:imports, which crampkg never follows "
            "(validation never fetches): copy those shapes into shapes/"
        )
    for predicate in (SH.select, SH.ask):
        for node, query in sorted((str(n), str(q)) for n, q in shapes.subject_objects(predicate)):
            if "service" not in query.lower():
                continue  # the usual case: no need to load the full SPARQL check
            from pipeline.sparqlguard import find_service

            at = find_service(query)
            if at is not None:
                raise ShapesError(
                    f"the SHACL-SPARQL query of {node} uses SERVICE (line {at[0]}, column "
                    f"{at[1]} of the query), which crampkg never runs: validation never fetches"
                )


@dataclass
class ValidationOutcome:
    conforms: bool
    problems: list[Problem]


def load_shapes(paths: list[Path] | None = None) -> Graph:
    """The shapes files as one rdflib graph (pySHACL and the compilers read rdflib terms).

    pyoxigraph parses the Turtle (several times faster than rdflib's parser, which was a third
    of validating the corpus); blank node labels are made distinct per file, as a merge of the
    files requires."""
    shapes = Graph()
    add = shapes.add
    for i, path in enumerate(paths if paths is not None else shapes_files()):
        for t in ox_parse(path=path, format=RdfFormat.TURTLE):
            add((_rdflib(t.subject, i), _rdflib(t.predicate, i), _rdflib(t.object, i)))
    return shapes


def _rdflib(term: object, file_no: int) -> Node:
    if isinstance(term, OxNamedNode):
        return URIRef(term.value)
    if isinstance(term, OxBlankNode):
        return BNode(f"f{file_no}x{term.value}")
    assert isinstance(term, OxLiteral)
    if term.language:
        return RdfLiteral(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:
        return RdfLiteral(term.value)  # as rdflib's parser reads "text": no explicit datatype
    return RdfLiteral(term.value, datatype=URIRef(term.datatype.value))


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(kg: KnowledgeGraph) -> Graph:
    g = Graph()
    g.parse(data=to_bytes(kg.triples, RdfFormat.N_TRIPLES), format="nt")
    return g


def _where(kg: KnowledgeGraph, focus: str) -> Location | None:
    """The YAML position of a node, or of the nearest minted node above it in the IRI."""
    iri = focus
    while iri:
        try:
            where = kg.origins.get(OxNamedNode(iri))
        except ValueError:  # not an IRI: a blank node, or a stem such as "https:"
            where = None
        if where is not None:
            return where
        if "/" not in iri:
            break
        iri = iri.rsplit("/", 1)[0]
    return None


def _problem(
    kg: KnowledgeGraph, severity: Severity, focus: str, message: str, rule: str, value: str | None
) -> Problem:
    if value is not None and value not in message and len(value) < 200:
        message = f"{message} (value: {value.removeprefix(kg.base)})"
    return Problem(severity, Stage.SHACL, rule, message, _where(kg, focus), focus)


def _pyshacl(kg: KnowledgeGraph, shapes: Graph) -> list[Problem]:
    from pyshacl import validate  # heavy import, only when validating

    _, results, _ = validate(
        to_rdflib(kg),
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    problems = []
    # Top-level results only: nested sh:detail results explain a result, they are not new ones.
    reports = list(results.subjects(RDF.type, SH.ValidationReport))
    for result in (r for report in reports for r in results.objects(report, SH.result)):
        severity = _SEVERITY.get(results.value(result, SH.resultSeverity), Severity.VIOLATION)
        shape = results.value(result, SH.sourceShape)
        component = str(results.value(result, SH.sourceConstraintComponent) or "shacl")
        rule = (str(shape) if isinstance(shape, URIRef) else component).rsplit("#", 1)[-1]
        value = results.value(result, SH.value)
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        for message in messages or ["constraint not met"]:
            problems.append(
                _problem(
                    kg,
                    severity,
                    str(results.value(result, SH.focusNode) or ""),
                    message,
                    rule,
                    None if value is None else str(value),
                )
            )
    return problems


Compiled = tuple[list[Targeted], list[SparqlConstraint]]
# A store costs about 366 bytes a triple. Up to a million triples (about 2,000 conditions,
# 370 MB) one store is fastest. Beyond, stores of 50,000 triples: at 10,000 conditions
# validation then peaked about 430 MB above the graph instead of 2.4 GB, in 94.9 s (one
# store: 97.5 to 101.2 s; 400,000-triple stores: 106.9 to 117.1 s; docs/performance.md).
WHOLE_MAX = 1_000_000
PARTITION_TRIPLES = 50_000


def _compile(shapes: Graph) -> tuple[Compiled, Graph]:
    """The shapes as the default engine runs them, and what is left to pySHACL."""
    core, constraints = split_shapes(shapes)
    compiled, rest = compile_shapes(core)
    return (compiled, constraints), rest


def cached_compiled(cache: LoadCache) -> Compiled | None:
    """The project's shapes compiled for the default engine, kept between builds in the load
    cache (parsing and compiling them is a tenth of building a small corpus), keyed by the
    shapes files and the compiler's code. None when some shape is left to pySHACL."""

    def make() -> tuple[Compiled | None]:
        shapes = load_shapes()
        check_shapes_offline(shapes)
        compiled, rest = _compile(shapes)
        return (None if needs_pyshacl(rest) else compiled,)

    here = Path(__file__).resolve().parent
    sources = [here / m for m in ("validate.py", "shaclcore.py", "sparqlshapes.py")]
    content = b"\0".join(p.read_bytes() for p in [*sources, *shapes_files()])
    found: tuple[Compiled | None] = cache.remember("compiled-shapes", content, make)
    return found[0]


def validate_graph(
    kg: KnowledgeGraph,
    shapes: Graph | None = None,
    engine: Literal["oxigraph", "hybrid", "pyshacl"] = "oxigraph",
    compiled: Compiled | None = None,
    partition: int | None = PARTITION_TRIPLES,
    partition_above: int = WHOLE_MAX,
    memo: Memo | None = None,
) -> ValidationOutcome:
    """Every finding of the shapes (the project's, unless given) on the graph. `compiled` is
    the project's shapes already compiled for the default engine (see `cached_compiled`).
    A graph of more than `partition_above` triples is validated a partition of about
    `partition` triples at a time (pipeline.partition: the same results in a fraction of the
    memory); None validates any graph whole. `memo` gives partitions' results kept from an
    earlier build (pipeline.validcache); it is used only with the project's shapes, for which
    it is keyed."""
    problems: list[Problem] = []
    if shapes is not None:
        memo = None  # the memo is keyed by the project's shapes files, not these
    if compiled is None or shapes is not None or engine != "oxigraph":
        shapes = shapes if shapes is not None else load_shapes()
        check_shapes_offline(shapes)
        if engine == "pyshacl":
            return _outcome(kg, _pyshacl(kg, shapes), [])
        if engine == "hybrid":
            core, constraints = split_shapes(shapes)
            store = load_store(kg.triples)
            return _outcome(kg, _pyshacl(kg, core), run_constraints(store, constraints))
        compiled, rest = _compile(shapes)
        if needs_pyshacl(rest):
            problems = _pyshacl(kg, rest)
    if partition and len(kg.triples) > max(partition, partition_above):
        parts = _in_partitions(compiled, kg.triples, partition, memo)
        if parts is not None:
            return _outcome(kg, problems, parts)
    return _outcome(kg, problems, _run_compiled(compiled, kg.triples))


def _run_compiled(
    compiled: Compiled,
    triples: Sequence[AnyTriple],
    owns: Callable[[Term], bool] | None = None,
    ntriples: bytes | None = None,
) -> list[RawResult]:
    """The compiled shapes' results on one store holding `triples` (with `owns`, at least
    those about the focus nodes it accepts; `ntriples`, the triples serialised already)."""
    store = load_store(triples, ntriples)
    results = run_bulk(store, compiled[1])
    exact, unmap = exact_store(triples, store)
    return run_core(exact, compiled[0], unmap, owns) + results


def _in_partitions(
    compiled: Compiled, triples: Sequence[AnyTriple], size: int, memo: Memo | None = None
) -> list[RawResult] | None:
    """The same results from a store per partition (pipeline.partition), or None when the
    shapes' reads cannot be bounded or the graph cannot be cut exactly."""
    from pipeline.partition import validate_in_partitions
    from pipeline.reads import Unreadable, check, core_reads, sparql_reads

    try:
        all_reads = [core_reads(t) for t in compiled[0]] + [sparql_reads(c) for c in compiled[1]]
        for reads in all_reads:
            check(reads)
    except Unreadable:
        return None
    return validate_in_partitions(triples, all_reads, partial(_run_compiled, compiled), size, memo)


def _outcome(
    kg: KnowledgeGraph, problems: list[Problem], results: list[RawResult]
) -> ValidationOutcome:
    for r in results:
        problems.append(
            _problem(kg, r.severity, r.focus, r.message, r.shape.rsplit("#", 1)[-1], r.value)
        )
    conforms = not any(p.severity is Severity.VIOLATION for p in problems)
    return ValidationOutcome(conforms, problems)
