"""The SHACL shapes: one fixture per rule, and the fast engine agrees with pySHACL.

`tests/fixtures/shapes/valid.ttl` follows docs/model.md and must raise nothing; every other
fixture breaks one rule, named by its file, and `expected.json` gives the severity and part of
the message it must produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Triple, parse

from pipeline.graph import KnowledgeGraph
from pipeline.report import Severity
from pipeline.validate import load_shapes, validate_graph
from tests.conftest import FIXTURES, MINIMAL

SHAPES = FIXTURES / "shapes"
EXPECTED: dict[str, dict[str, object]] = json.loads((SHAPES / "expected.json").read_text())
BASE = "https://w3id.org/crampkg/"


def graph_of(path: Path) -> KnowledgeGraph:
    triples = [
        Triple(q.subject, q.predicate, q.object)
        for q in parse(path=str(path), format=RdfFormat.TURTLE)
    ]
    return KnowledgeGraph(BASE, sorted(set(triples), key=str))


@pytest.fixture(scope="module")
def shapes():  # type: ignore[no-untyped-def]
    return load_shapes()


def test_valid_fixture_raises_nothing(shapes) -> None:  # type: ignore[no-untyped-def]
    outcome = validate_graph(graph_of(SHAPES / "valid.ttl"), shapes)
    assert outcome.conforms
    assert [p.format() for p in outcome.problems] == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_fixture(name: str, shapes) -> None:  # type: ignore[no-untyped-def]
    expected = EXPECTED[name]
    outcome = validate_graph(graph_of(SHAPES / name), shapes)
    severity = Severity(str(expected["severity"]).lower())
    hits = [
        p
        for p in outcome.problems
        if p.severity is severity and str(expected["message"]) in p.message
    ]
    assert len(hits) >= int(str(expected["count"])), [p.format() for p in outcome.problems]
    if severity is not Severity.VIOLATION:
        assert outcome.conforms


def _union(paths: list[Path]) -> KnowledgeGraph:
    triples: set[Triple] = set()
    for path in paths:
        triples.update(graph_of(path).triples)
    return KnowledgeGraph(BASE, sorted(triples, key=str))


def _signature(kg: KnowledgeGraph, shapes, engine: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.format() for p in validate_graph(kg, shapes, engine=engine).problems)  # type: ignore[arg-type]


def test_fast_engine_matches_pyshacl_on_every_fixture(shapes) -> None:  # type: ignore[no-untyped-def]
    kg = _union(sorted(SHAPES.glob("*.ttl")))
    fast = _signature(kg, shapes, "hybrid")
    assert fast == _signature(kg, shapes, "pyshacl")
    assert len(fast) > len(EXPECTED)


def test_fast_engine_matches_pyshacl_on_minimal_corpus(shapes) -> None:  # type: ignore[no-untyped-def]
    from pipeline.build import run_pipeline

    result = run_pipeline(MINIMAL, validate=False, export=False)
    assert result.graph is not None
    assert _signature(result.graph, shapes, "hybrid") == _signature(result.graph, shapes, "pyshacl")


def _codes_graph(codes: list[tuple[str, str]]) -> KnowledgeGraph:
    from pyoxigraph import Literal, NamedNode

    rdf_type = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    schema = "http://schema.org/"
    triples = []
    for i, (system, code) in enumerate(codes):
        node = NamedNode(f"{BASE}code/t/{i}")
        triples += [
            Triple(node, rdf_type, NamedNode(schema + "MedicalCode")),
            Triple(node, NamedNode(schema + "codingSystem"), Literal(system)),
            Triple(node, NamedNode(schema + "codeValue"), Literal(code)),
        ]
    return KnowledgeGraph(BASE, sorted(triples, key=str))


def test_code_value_shape_checks_every_system_as_vocab_does(shapes) -> None:  # type: ignore[no-untyped-def]
    """The code-value constraint (one constant pattern per system) accepts each system's
    example and refuses what pipeline/vocab.py refuses, with the same results as pySHACL."""
    from pipeline.vocab import CODE_SYSTEMS

    codes = []
    for system in CODE_SYSTEMS.values():
        for code in (system.example, system.example + "Z", "x" + system.example, "12", ""):
            codes.append((system.name, code))
    codes.append(("NotASystem", "anything"))  # left to the sh:in constraint
    kg = _codes_graph(codes)
    fast = _signature(kg, shapes, "oxigraph")
    assert fast == _signature(kg, shapes, "pyshacl")
    flagged = {p.node for p in validate_graph(kg, shapes).problems if "is not a valid" in p.message}
    for i, (name, code) in enumerate(codes[:-1]):
        refused = CODE_SYSTEMS[name].pattern.fullmatch(code) is None
        assert (f"{BASE}code/t/{i}" in flagged) == refused, (name, code)


def test_a_problem_points_at_the_yaml_that_wrote_its_focus_node(shapes) -> None:  # type: ignore[no-untyped-def]
    """A SHACL problem is reported at the YAML of its focus node (`KnowledgeGraph.origins`),
    or, for a node not minted itself, at that of the nearest minted IRI above it."""
    from pipeline.build import run_pipeline
    from pipeline.rdfio import Statement

    kg = run_pipeline(MINIMAL, validate=False, export=False).graph
    assert kg is not None
    label = "http://www.w3.org/2004/02/skos/core#prefLabel"
    entity = next(t.subject for t in kg.triples if t.predicate.value == label)
    exact = "http://www.w3.org/ns/oa#exact"
    selector = next(t.subject for t in kg.triples if t.predicate.value == exact)
    broken = [
        t
        for t in kg.triples
        if (t.subject, t.predicate.value) not in {(entity, label), (selector, exact)}
    ]
    # a child IRI nobody minted, typed as a claim: reported where its parent was written
    child = type(entity)(f"{selector.value}/unminted")
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    claim_class = type(entity)("https://w3id.org/crampkg/ontology#Claim")
    some_type = next(t.predicate for t in kg.triples if t.predicate.value == rdf_type)
    broken.append(Statement(child, some_type, claim_class))
    outcome = validate_graph(KnowledgeGraph(kg.base, sorted(broken, key=str), kg.origins), shapes)
    where = {p.node: p.location for p in outcome.problems}
    evidence = type(entity)(selector.value.removesuffix("/selector"))  # reads the quote
    assert where[entity.value] == kg.origins[entity] is not None
    assert where[evidence.value] == kg.origins[evidence] is not None
    assert where[child.value] == kg.origins[selector] != kg.origins[evidence]
    assert kg.origins[entity].file != kg.origins[evidence].file  # an entity, a claim file
