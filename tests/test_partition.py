"""Validation in partitions reports exactly what validation of the whole graph reports.

`pipeline.reads` derives what each shape reads from the shapes; `pipeline.partition` loads a
store per slice of the focus nodes with just those triples. Compared problem for problem with
one store for the whole graph (which tests/test_shaclcore.py compares with pySHACL) on broken
fixtures and on generated catalogues with random damage, cut into many small partitions; a
reader that misses one kind of step is shown to be caught by the same comparison.
"""

from __future__ import annotations

import importlib.util
import random

import pytest
from pyoxigraph import BlankNode, NamedNode

from pipeline import partition
from pipeline.build import run_pipeline
from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import Statement
from pipeline.reads import Unreadable, check, core_reads, sparql_reads
from pipeline.sparqlshapes import SparqlConstraint
from pipeline.validate import _compile, load_shapes, validate_graph
from tests.conftest import FIXTURES, ROOT
from tests.test_shapes import _union


def _problems(kg: KnowledgeGraph, size: int | None) -> list[str]:
    outcome = validate_graph(kg, partition=size, partition_above=0)
    return sorted(p.format() for p in outcome.problems)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = tmp_path_factory.mktemp("catalogue") / "data"
    module.generate(24, data)
    kg = run_pipeline(data, validate=False, export=False).graph
    assert kg is not None
    return kg


def _damaged(kg: KnowledgeGraph, seed: int, changes: int = 80) -> KnowledgeGraph:
    """The graph with random triples removed, re-pointed, re-typed and added."""
    rng = random.Random(seed)
    triples = [t for t in kg.triples if isinstance(t, Statement)]
    nodes = [t.subject for t in rng.sample(triples, 150)]
    nodes += [t.object for t in rng.sample(triples, 150) if isinstance(t.object, NamedNode)]
    predicates = sorted({t.predicate for t in triples}, key=str)
    for _ in range(changes):
        i = rng.randrange(len(triples))
        t = triples[i]
        match rng.randrange(4):
            case 0:
                del triples[i]
            case 1:
                triples[i] = Statement(t.subject, rng.choice(predicates), t.object)
            case 2:
                triples[i] = Statement(t.subject, t.predicate, rng.choice(nodes))
            case _:
                triples.append(
                    Statement(rng.choice(nodes), rng.choice(predicates), rng.choice(nodes))
                )
    return KnowledgeGraph(kg.base, sorted(set(triples), key=str), kg.origins)


def test_every_shape_of_ours_has_bounded_reads() -> None:
    compiled, _ = _compile(load_shapes())
    for targeted in compiled[0]:
        check(core_reads(targeted))
    for constraint in compiled[1]:
        check(sparql_reads(constraint))


@pytest.mark.parametrize("seed", range(6))
def test_partitions_report_what_the_whole_graph_reports(
    seed: int, catalogue: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg = _damaged(catalogue, seed)
    calls: list[int] = []
    real = partition._store_triples

    def counted(index, need, own):  # type: ignore[no-untyped-def]
        found = real(index, need, own)
        calls.append(len(found))
        return found

    monkeypatch.setattr(partition, "_store_triples", counted)
    whole = _problems(kg, None)
    assert not calls
    assert len(whole) > 20, "the damage should break many shapes"
    assert _problems(kg, 600) == whole
    assert len(calls) >= 10, "the graph should have been cut into many partitions"
    assert sum(calls) < 1.5 * len(kg), "partitions should share few triples"


def test_undamaged_catalogue_in_partitions(catalogue: KnowledgeGraph) -> None:
    assert _problems(catalogue, 600) == _problems(catalogue, None)


def test_broken_fixtures_in_partitions() -> None:
    kg = _union(sorted((FIXTURES / "shapes").glob("*.ttl")))
    # Blank nodes would keep the graph whole and make this comparison vacuous.
    assert not any(isinstance(x, BlankNode) for t in kg.triples for x in (t.subject, t.object))
    whole = _problems(kg, None)
    assert len(whole) > 20
    assert _problems(kg, 50) == whole
    reference = validate_graph(kg, engine="pyshacl").problems  # pySHACL over the whole graph
    assert sorted(p.format() for p in reference) == whole


def test_a_reader_that_skips_backward_steps_is_caught(
    catalogue: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above is sensitive: without the triples read backwards (a claim's
    `rdf:subject` seen from its entity) partitions report entities as unused."""
    real = partition._Reader.step

    def forward_only(self, edge, forward, sig, start):  # type: ignore[no-untyped-def]
        if not forward:
            self.steps[(sig, edge.predicates, edge.repeat, forward)] = set()
            return set()
        return real(self, edge, forward, sig, start)

    monkeypatch.setattr(partition._Reader, "step", forward_only)
    assert _problems(catalogue, 600) != _problems(catalogue, None)


def test_blank_nodes_keep_the_graph_whole(catalogue: KnowledgeGraph) -> None:
    b = BlankNode("x")
    triples = [*catalogue.triples, Statement(b, catalogue.triples[0].predicate, b)]  # type: ignore[arg-type]
    compiled, _ = _compile(load_shapes())
    reads = [core_reads(t) for t in compiled[0]]
    assert partition.validate_in_partitions(triples, reads, lambda part, owns: [], 600) is None


def _constraint(select: str) -> SparqlConstraint:
    prefixes = (("ck", "https://w3id.org/crampkg/ontology#"),)
    return SparqlConstraint("urn:shape", None, select, prefixes, (), (("targetClass", "urn:C"),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "select",
    [
        pytest.param("SELECT $this WHERE { ?x ck:p ?y }", id="pattern-not-linked-to-focus"),
        pytest.param(
            "SELECT $this WHERE { ?x a ck:Claim . FILTER NOT EXISTS { ?x ck:p $this } }",
            id="only-reached-backwards-from-a-constant",
        ),
        pytest.param("SELECT $this WHERE { ?x ?p $this }", id="backwards-along-any-predicate"),
        pytest.param(
            "SELECT $this WHERE { BIND (ck:a AS ?x) ?x ck:p $this }", id="bind-variable-in-pattern"
        ),
        pytest.param("SELECT $this WHERE { VALUES ?x { ck:a } ?x ck:p $this }", id="values-block"),
        pytest.param(
            "SELECT $this WHERE { $this ck:p ?v . { SELECT ?v WHERE { ?v ck:q ?w } } }",
            id="sub-select",
        ),
        pytest.param("SELECT $this WHERE { GRAPH ?g { $this ck:p ?v } }", id="named-graph"),
    ],
)
def test_unbounded_reads_are_refused(select: str) -> None:
    with pytest.raises(Unreadable):
        check(sparql_reads(_constraint(select)))


def test_refused_shapes_keep_the_graph_whole(
    catalogue: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_c: SparqlConstraint) -> None:
        raise Unreadable("as if some shape could not be bounded")

    monkeypatch.setattr("pipeline.reads.sparql_reads", refuse)
    monkeypatch.setattr(partition, "_store_triples", None)  # a partition would fail loudly
    assert _problems(catalogue, 600) == _problems(catalogue, None)
