"""Exports written piece by piece are the same bytes as written whole, at any piece size.

graph.nt, graph.ttl and graph.jsonld are produced in runs (`Chunks`) so that a catalogue's
files are never whole in memory; the real corpus is small enough to be one run, so the run
sizes here are tiny, to put boundaries everywhere: between subjects, after the first one,
and where a run ends on the last triple.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Triple

from pipeline.build import run_pipeline
from pipeline.distdir import Staging
from pipeline.exporters.base import Chunks, subject_batches
from pipeline.exporters.jsonld import dumps, graph_chunks
from pipeline.exporters.ntriples import ntriples
from pipeline.exporters.turtle import data_prefixes, turtle
from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import Statement, to_bytes
from tests.conftest import DATA, MINIMAL

SIZES = [1, 2, 7, 1000, 10**9]


@pytest.fixture(scope="module", params=["minimal", "corpus"])
def kg(request: pytest.FixtureRequest) -> KnowledgeGraph:
    result = run_pipeline(MINIMAL if request.param == "minimal" else DATA, validate=False)
    assert result.graph is not None
    return result.graph


@pytest.mark.parametrize("size", SIZES)
def test_ntriples_runs_join_into_sorted_lines(kg: KnowledgeGraph, size: int) -> None:
    data = ntriples(kg, size).join()
    lines = data.splitlines(keepends=True)
    assert lines == sorted(set(lines))  # sorted, unique: the order `kg.triples` promises
    assert data == to_bytes(kg.triples, RdfFormat.N_TRIPLES)


@pytest.mark.parametrize("size", SIZES)
def test_turtle_runs_join_into_the_whole(kg: KnowledgeGraph, size: int) -> None:
    prefixes = data_prefixes(kg.base)
    whole = to_bytes(kg.triples, RdfFormat.TURTLE, prefixes).splitlines(keepends=True)
    body = b"".join(ln for ln in whole if not ln.startswith(b"@prefix "))
    assert turtle(kg.triples, prefixes, "# h\n", size).join().endswith(b"\n\n" + body)


@pytest.mark.parametrize("size", SIZES)
def test_jsonld_runs_join_into_the_whole(kg: KnowledgeGraph, size: int) -> None:
    data = graph_chunks(kg, size).join()
    doc = json.loads(data)
    assert data == dumps(doc)  # the same bytes as the document written in one go
    assert len(doc["@graph"]) == len({t.subject for t in kg.triples})


def test_empty_graph_is_an_empty_list() -> None:
    doc = json.loads(graph_chunks(KnowledgeGraph("https://example.org/", [])).join())
    assert doc["@graph"] == []
    assert ntriples(KnowledgeGraph("https://example.org/", [])).join() == b""


def test_runs_never_split_a_subject(kg: KnowledgeGraph) -> None:
    runs = list(subject_batches(kg.triples, 3))
    assert [t for run in runs for t in run] == kg.triples
    for before, after in itertools.pairwise(runs):
        assert len(before) >= 3 and before[-1].subject != after[0].subject


def test_staging_writes_pieces_and_hashes_the_whole(tmp_path: Path) -> None:
    import hashlib

    pieces = Chunks(lambda: iter([b"ab", b"", b"cd"]))
    with Staging(tmp_path / "out") as stage:
        assert stage.write("f", pieces.produce()) == (4, hashlib.sha256(b"abcd").hexdigest())
        assert (stage.path / "f").read_bytes() == b"abcd"


def test_statements_read_and_print_as_pyoxigraph_triples(kg: KnowledgeGraph) -> None:
    """The graph's `Statement`s stand in for pyoxigraph `Triple`s: same text, so the same sort
    order and N-Triples lines, the same serialisation, and the graph shares its IRI terms."""
    triples = [Triple(*t) for t in kg.triples]
    assert all(isinstance(t, Statement) for t in kg.triples)
    assert [str(t) for t in kg.triples] == [str(t) for t in triples]
    assert to_bytes(kg.triples, RdfFormat.TURTLE) == to_bytes(triples, RdfFormat.TURTLE)
    assert [(t.subject, t.predicate, t.object) for t in kg.triples] == [
        (t.subject, t.predicate, t.object) for t in triples
    ]
    subjects = {t.subject.value: t.subject for t in kg.triples}
    assert all(t.subject is subjects[t.subject.value] for t in kg.triples)


def test_the_iri_cache_lives_for_one_build(kg: KnowledgeGraph) -> None:
    """Terms are shared within a graph, not kept by the module for later builds."""
    from pipeline import graph

    assert kg.triples and not graph._N
    again = run_pipeline(MINIMAL, validate=False, export=False).graph
    assert again is not None and again.triples and not graph._N


def test_sorting_by_subject_groups_is_sorting_by_text(kg: KnowledgeGraph) -> None:
    """`sorted_unique` (a subject at a time) orders exactly as sorting the N-Triples text,
    also for IRIs that are prefixes of one another and for repeated triples."""
    import random

    from pyoxigraph import Literal, NamedNode

    from pipeline.graph import sorted_unique

    rng = random.Random(7)
    iris = [
        NamedNode(f"https://x.org/{a}{b}")
        for a in ("a", "a/", "a-", "a.", "a#", "ab", "a0")
        for b in ("", "b", "/c", "-", "0")
    ]
    objects = [*iris, Literal("a"), Literal("a", language="en"), Literal("1", datatype=iris[0])]
    made = [
        Statement(rng.choice(iris), rng.choice(iris[:6]), rng.choice(objects)) for _ in range(3000)
    ]
    assert sorted_unique(made) == sorted(set(made), key=str)
    real = list(kg.triples)
    rng.shuffle(real)
    assert sorted_unique(real + real[:50]) == list(kg.triples)
