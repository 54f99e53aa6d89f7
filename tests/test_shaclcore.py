"""The compiled SHACL core engine reports exactly what pySHACL reports, problem for problem.

Compared on the union of the shape fixtures, on a handful of them alone, on the minimal and the
real corpus, on literals rdflib and oxigraph write differently, and with shapes the compiler
must refuse (which are then left to pySHACL, never skipped).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import Graph

from pipeline.graph import KnowledgeGraph
from pipeline.report import Severity
from pipeline.shaclcore import Unsupported, _shape, compile_shapes
from pipeline.sparqlbulk import bulk_query
from pipeline.sparqlshapes import SparqlConstraint, split_shapes
from pipeline.validate import load_shapes, validate_graph
from tests.conftest import DATA, FIXTURES, MINIMAL
from tests.test_shapes import _union, graph_of

SHAPES = FIXTURES / "shapes"
SOME = [
    "valid.ttl",
    "dose-value-not-number.ttl",
    "bad-checksum.ttl",
    "cited-unknown-reference.ttl",
    "wrong-domain-has-treatment.ttl",
    "anecdotal-claim-not-from-comments.ttl",
]
PREFIXES = """
@prefix ck: <https://w3id.org/crampkg/ontology#> .
@prefix schema: <http://schema.org/> .
@prefix cito: <http://purl.org/spar/cito/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://w3id.org/crampkg/x/> .
"""


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes()


def _signature(kg: KnowledgeGraph, shapes: Graph, engine: str) -> list[str]:
    outcome = validate_graph(kg, shapes, engine=engine)  # type: ignore[arg-type]
    return sorted(p.format() for p in outcome.problems)


def _same(kg: KnowledgeGraph, shapes: Graph, reference: str = "pyshacl") -> list[str]:
    fast = _signature(kg, shapes, "oxigraph")
    assert fast == _signature(kg, shapes, reference)
    return fast


def _turtle(tmp_path: Path, text: str) -> KnowledgeGraph:
    path = tmp_path / "g.ttl"
    path.write_text(PREFIXES + text)
    return graph_of(path)


def test_every_shape_of_ours_is_compiled(shapes: Graph) -> None:
    from pipeline.shaclcore import needs_pyshacl
    from pipeline.sparqlshapes import split_shapes

    core, _ = split_shapes(shapes)
    compiled, rest = compile_shapes(core)
    assert len(compiled) >= 35
    assert not needs_pyshacl(rest)  # so validation never pays for pySHACL


def test_union_of_fixtures(shapes: Graph) -> None:
    problems = _same(_union(sorted(SHAPES.glob("*.ttl"))), shapes)
    assert len(problems) > 47


@pytest.mark.parametrize("name", SOME)
def test_single_fixture(name: str, shapes: Graph) -> None:
    _same(graph_of(SHAPES / name), shapes)


def test_minimal_corpus(shapes: Graph) -> None:
    from pipeline.build import run_pipeline

    result = run_pipeline(MINIMAL, validate=False, export=False)
    assert result.graph is not None
    _same(result.graph, shapes)


@pytest.fixture(scope="module")
def real_graph() -> KnowledgeGraph:
    from pipeline.build import run_pipeline

    result = run_pipeline(DATA, validate=False, export=False)
    assert result.graph is not None
    return result.graph


def test_real_corpus(real_graph: KnowledgeGraph, shapes: Graph) -> None:
    # "hybrid" runs every core constraint in pySHACL (about 6 minutes for "pyshacl", whose
    # per-node rdflib SPARQL is the slow part; test_shapes proves hybrid == pyshacl)
    _same(real_graph, shapes, "hybrid")


@pytest.mark.skipif(not os.environ.get("CRAMPKG_SLOW"), reason="6 minutes; set CRAMPKG_SLOW=1")
def test_real_corpus_against_pyshacl_alone(real_graph: KnowledgeGraph, shapes: Graph) -> None:
    _same(real_graph, shapes)


def test_literals_written_differently_by_rdflib_and_oxigraph(tmp_path: Path, shapes: Graph) -> None:
    kg = _turtle(
        tmp_path,
        """
        ex:d1 a schema:DoseSchedule ; schema:doseUnit "mg" ;
            schema:doseValue "01"^^xsd:integer , "1"^^xsd:integer .
        ex:d2 a schema:DoseSchedule ; schema:doseUnit " " ; schema:doseValue "1.0"^^xsd:double .
        ex:d3 a schema:DoseSchedule ; schema:doseUnit "mg" ; schema:doseValue "abc"^^xsd:integer .
        ex:d4 a schema:DoseSchedule ; schema:doseUnit ex:u ; schema:doseValue "-0.0"^^xsd:decimal .
        ex:d5 a schema:DoseSchedule ; schema:doseUnit "" ; schema:doseValue "NaN"^^xsd:double .
        ex:r1 a ck:Reference ; ck:referenceKind ck:review ; ck:peerReviewed "1"^^xsd:boolean .
        ex:r2 a ck:Reference ; ck:referenceKind "review" ; ck:peerReviewed "yes"^^xsd:boolean .
        ex:e1 cito:citesAsEvidence "a literal" , ex:r1 .
        ex:c1 a ck:Condition ; skos:prefLabel "Cramp" , "Crampe"@fr ; rdfs:label "x"@en .
        """,
    )
    assert len(_same(kg, shapes)) > 8


FOREIGN = """
ex:S1 a sh:NodeShape ; sh:targetClass ex:T ; sh:message "m1" ;
    sh:property [ sh:path ex:p ; sh:node ex:S2 ; sh:message "nested" ] .
ex:S2 a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .
ex:S3 a sh:NodeShape ; sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:minCount 2 ] .
ex:S4 a sh:NodeShape ; sh:targetClass ex:T ;
    sh:property [ sh:path ex:p ; sh:maxCount 1 ; sh:message "one p"@en , "un p"@fr ;
                  sh:severity sh:Warning ] ;
    sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:class ex:T ; sh:message "inv" ] .
ex:S5 a sh:NodeShape ; sh:targetSubjectsOf ex:p ; sh:deactivated true ; sh:class ex:Nope .
ex:Sub rdfs:subClassOf ex:T .
"""


def test_refused_shapes_are_left_to_pyshacl(tmp_path: Path) -> None:
    shapes = Graph().parse(data=PREFIXES + FOREIGN, format="turtle")
    compiled, _rest = compile_shapes(shapes)
    assert sorted(str(t.shape.name).rsplit("/", 1)[-1] for t in compiled) == ["S4"]
    with pytest.raises(Unsupported):
        _shape(shapes, _node(shapes, "S1"))
    kg = _turtle(
        tmp_path,
        """
        ex:a a ex:T ; ex:p ex:b , ex:c .
        ex:b a ex:Sub ; ex:p ex:a .
        ex:c ex:q 1 .
        """,
    )
    problems = _same(kg, shapes)
    assert any("nested" in p for p in problems) and any("un p" in p for p in problems)


def _node(shapes: Graph, local: str):  # type: ignore[no-untyped-def]
    return next(s for s in set(shapes.subjects()) if str(s).endswith("/" + local))


def _constraint(select: str) -> SparqlConstraint:
    return SparqlConstraint(
        "urn:s", Severity.VIOLATION, select, (), ("m",), (("targetClass", "urn:T"),)
    )


def test_bulk_sparql_refuses_queries_it_cannot_run_exactly(shapes: Graph) -> None:
    ok = "SELECT $this ?value WHERE { $this <urn:p> ?value FILTER NOT EXISTS { ?value a <urn:T> } }"
    assert bulk_query(_constraint(ok)) is not None
    for unsafe in (
        "SELECT $this WHERE { OPTIONAL { BIND (STR($this) AS ?x) } }",  # $this in a nested group
        "SELECT ?value WHERE { $this <urn:p> ?value }",  # $this not projected
        "SELECT $this WHERE { { SELECT ?y WHERE { ?y <urn:p> ?z } } $this <urn:p> ?y }",
        "SELECT $this WHERE { $this <urn:p> ?v MINUS { ?v <urn:q> ?w } }",
    ):
        assert bulk_query(_constraint(unsafe)) is None, unsafe
    # every constraint of ours runs in bulk (and the tests above prove the results equal)
    _, constraints = split_shapes(shapes)
    assert all(bulk_query(c) is not None for c in constraints)


@pytest.mark.parametrize("in_place", [True, False], ids=["store-changed-in-place", "store-copied"])
def test_exact_store_in_place_or_copied(in_place: bool, tmp_path: Path, shapes: Graph) -> None:
    """Literals rdflib rewrites are swapped in the store itself when no two literals are stored
    alike, and in a copy otherwise ("01" and "1"); both give pySHACL's results."""
    from pipeline.shaclexec import exact_store
    from pipeline.sparqlshapes import load_store

    ones = '"01"^^xsd:integer' if in_place else '"01"^^xsd:integer , "1"^^xsd:integer'
    kg = _turtle(
        tmp_path,
        f"""
        ex:d1 a schema:DoseSchedule ; schema:doseUnit "mg" ; schema:doseValue {ones} .
        ex:d2 a schema:DoseSchedule ; schema:doseUnit " " ; schema:doseValue "1.0"^^xsd:double .
        ex:d4 a schema:DoseSchedule ; schema:doseUnit ex:u ; schema:doseValue "-0.0"^^xsd:decimal .
        """,
    )
    store = load_store(kg.triples)
    exact, _ = exact_store(kg.triples, store)
    assert (exact is store) is in_place
    assert len(_same(kg, shapes)) >= 2


@pytest.mark.parametrize(
    ("rest", "pattern", "expected"),
    [
        ("SELECT $this WHERE { $this ex:p ?s . }", "{ $this ex:q ?x }", True),
        ("SELECT $this WHERE { $this ex:p ?s . }", "{ ?s ex:r ?x . ?x ex:t true }", True),
        ("SELECT $this WHERE { $this ex:p ?s . }", "{ ?s ex:r ?x }", False),  # one lookup each
        ("SELECT $this WHERE { $this ex:p ?s . }", "{ ?s ex:r/ex:t ?x }", True),
        ("SELECT $this WHERE { OPTIONAL { $this ex:p ?s } }", "{ ?s ex:r ?x . ?x ex:t 1 }", False),
        ("SELECT $this WHERE { BIND (ex:a AS ?s) }", "{ ?s ex:r ?x . ?x ex:t 1 }", False),
        ("SELECT $this WHERE { $this ex:p ?s . }", "{ ?z ex:r ?x . ?x ex:t 1 }", False),
        ("SELECT $this WHERE { $this ex:p ?s }", "{ ?s ex:r ?x FILTER (?x) }", False),
    ],
    ids=[
        "shares-this",
        "join-on-bound-variable",
        "single-pattern-on-bound-variable",
        "path-on-bound-variable",
        "variable-bound-only-in-optional",
        "variable-bound-only-by-bind",
        "shares-nothing",
        "filter-inside",
    ],
)
def test_not_exists_becomes_minus_only_when_exact(rest: str, pattern: str, expected: bool) -> None:
    """FILTER NOT EXISTS { P } equals MINUS { P } when every variable P shares with the query
    is bound in every solution; the anti-join is used where it also avoids a per-row join."""
    from pipeline.sparqlbulk import _anti_join_safe

    assert _anti_join_safe(pattern, rest) is expected


def test_each_path_is_looked_up_once_and_dropped_after_its_last_shape(
    real_graph: KnowledgeGraph, shapes: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_core keeps a path's values only until the last shape that reads them: every path
    read is one it knows to drop, none is read again after being dropped, and none is left."""
    from pipeline import shaclexec
    from pipeline.sparqlshapes import load_store

    core, _ = split_shapes(shapes)
    compiled, _rest = compile_shapes(core)
    queried: list[str] = []
    left: list[dict[str, object]] = []
    original = shaclexec._Data.values

    def values(self: shaclexec._Data, path: str) -> object:
        if path not in self._paths:
            queried.append(path)
        left[:] = [self._paths]
        return original(self, path)

    monkeypatch.setattr(shaclexec._Data, "values", values)
    results = shaclexec.run_core(load_store(real_graph.triples), compiled)
    assert len(queried) > 30
    assert len(set(queried)) == len(queried)  # never looked up again after being dropped
    assert {p for paths in shaclexec._last_uses(compiled).values() for p in paths} == set(queried)
    assert left == [{}]  # nothing kept once validation is over
    monkeypatch.undo()
    monkeypatch.setattr(shaclexec._Data, "forget", lambda self, path: None)
    assert shaclexec.run_core(load_store(real_graph.triples), compiled) == results  # all kept
