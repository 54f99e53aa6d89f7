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
from pipeline.triples import TripleTable, sorted_table, table_of
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
    assert [t for run in runs for t in run] == list(kg.triples)
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


def test_the_triple_table_reads_like_a_list_of_statements(kg: KnowledgeGraph) -> None:
    """The graph keeps its triples as columns of term numbers (pipeline.triples); read by
    index, negative index, slice with or without a step, or in order, it gives the same
    `Statement`s a list would, sharing the graph's terms."""
    table = kg.triples
    assert isinstance(table, TripleTable)
    listed = list(table)
    assert len(listed) == len(table) > 100
    assert all(type(t) is Statement for t in listed)
    for i in (0, 1, len(listed) // 2, len(listed) - 1, -1, -len(listed)):
        assert table[i] == listed[i]
    for cut in (slice(None), slice(3, 40), slice(-20, None), slice(None, None, -7), slice(5, 5)):
        assert table[cut] == listed[cut]
    assert list(reversed(table)) == listed[::-1]
    assert listed[-3] in table and table.index(listed[-3]) == len(listed) - 3
    with pytest.raises(IndexError):
        table[len(listed)]
    assert all(t.subject is table.terms[n] for t, n in zip(listed, table.s, strict=True))


def test_sorting_the_table_is_sorting_by_text(kg: KnowledgeGraph) -> None:
    """`sorted_table` (a counting sort by subject, then a subject's triples by text) orders
    exactly as sorting the N-Triples text, also for IRIs that are prefixes of one another,
    and drops repeated triples, also when an equal literal was made twice."""
    import random

    from pyoxigraph import Literal, NamedNode

    rng = random.Random(7)
    iris = [
        NamedNode(f"https://x.org/{a}{b}")
        for a in ("a", "a/", "a-", "a.", "a#", "ab", "a0")
        for b in ("", "b", "/c", "-", "0")
    ]

    def objects() -> list[NamedNode | Literal]:
        return [*iris, Literal("a"), Literal("a", language="en"), Literal("1", datatype=iris[0])]

    made = [
        Statement(rng.choice(iris), rng.choice(iris[:6]), rng.choice(objects()))
        for _ in range(3000)
    ]
    table = table_of(made)
    assert len(table.terms) > len(iris) + 3  # equal literals under different numbers
    assert list(sorted_table(table.terms, table.s, table.p, table.o)) == sorted(set(made), key=str)
    real = list(kg.triples)
    rng.shuffle(real)
    again = table_of(real + real[:50])
    assert list(sorted_table(again.terms, again.s, again.p, again.o)) == list(kg.triples)


def test_the_iri_cache_lives_for_one_build(kg: KnowledgeGraph) -> None:
    """Terms are shared within a graph, not kept by the module for later builds: the IRI ->
    node numbers live in the builder, and no module-level mapping of pipeline.graph holds
    a minted IRI once a build has ended."""
    from pipeline import graph

    again = run_pipeline(MINIMAL, validate=False, export=False).graph
    assert again is not None and again.triples
    minted = {node.value for node in again.origins}
    assert minted
    for name, value in vars(graph).items():
        if isinstance(value, dict):
            assert not minted & {k for k in value if isinstance(k, str)}, name
