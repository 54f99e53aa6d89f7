"""Partition results kept between builds are exactly the results of validating again.

pipeline.validcache keeps each partition's results under a hash of its store's triples, its
key range and the shapes and code; pipeline.slices cuts the ranges by content so that an edit
leaves the other partitions' stores alone. Checked here: a repeat finds every partition, an
edit recomputes only a few and the results equal a fresh validation (on random damage too),
the cuts fall back in step after an edit, the key moves with each thing it covers, and a
build that validates in partitions with the cache writes what a build without it writes.
"""

from __future__ import annotations

import random
import shutil
from functools import partial
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from pipeline import partition, validate, validcache
from pipeline.build import build
from pipeline.cache import FOLDER, LoadCache
from pipeline.graph import KnowledgeGraph
from pipeline.rdfio import Statement
from pipeline.slices import slices_of
from pipeline.validate import validate_graph
from pipeline.validcache import PartitionMemo, partition_key
from tests.test_incremental import _generate, _tree
from tests.test_partition import _damaged, catalogue  # noqa: F401  (a fixture)

SIZE = 600
RDFS_LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
PREF_LABEL = NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")  # required


def _problems(kg: KnowledgeGraph, memo: PartitionMemo | None = None) -> list[str]:
    outcome = validate_graph(kg, partition=SIZE, partition_above=0, memo=memo)
    return sorted(p.format() for p in outcome.problems)


def _edited(kg: KnowledgeGraph, drop: Statement) -> KnowledgeGraph:
    return KnowledgeGraph(kg.base, [t for t in kg.triples if t != drop], kg.origins)


def _a_label(kg: KnowledgeGraph, rng: random.Random) -> Statement:
    labels = [t for t in kg.triples if t.predicate == PREF_LABEL]
    found = rng.choice(labels)
    assert isinstance(found, Statement)
    return found


def test_a_repeat_finds_every_partition(catalogue: KnowledgeGraph, tmp_path: Path) -> None:  # noqa: F811
    first = PartitionMemo(LoadCache(tmp_path))
    fresh = _problems(catalogue, first)
    assert first.found == 0 and first.computed >= 10
    again = PartitionMemo(LoadCache(tmp_path))
    assert _problems(catalogue, again) == fresh == _problems(catalogue)
    assert (again.found, again.computed) == (first.computed, 0)


def test_an_edit_recomputes_a_few_partitions_and_the_same_results(
    catalogue: KnowledgeGraph,  # noqa: F811
    tmp_path: Path,
) -> None:
    _problems(catalogue, PartitionMemo(LoadCache(tmp_path)))
    rng = random.Random(7)
    for _ in range(4):
        label = _a_label(catalogue, rng)
        edited = _edited(catalogue, label)
        memo = PartitionMemo(LoadCache(tmp_path))
        found = _problems(edited, memo)
        assert found == _problems(edited)
        # the label was required: the edit's violation comes from a recomputed partition
        assert any(str(label.subject.value) in p for p in found)
        assert 1 <= memo.computed <= 4 < memo.found


@pytest.mark.parametrize("seed", range(3))
def test_kept_results_equal_fresh_ones_under_random_damage(
    seed: int,
    catalogue: KnowledgeGraph,  # noqa: F811
    tmp_path: Path,
) -> None:
    memo_folder = tmp_path / "memo"
    _problems(catalogue, PartitionMemo(LoadCache(memo_folder)))
    kg = catalogue
    for step in range(3):  # each round's damage on top of the last, against the same cache
        kg = _damaged(kg, seed * 10 + step, changes=3)
        memo = PartitionMemo(LoadCache(memo_folder))
        assert _problems(kg, memo) == _problems(kg)
        assert memo.found > memo.computed


def test_the_cuts_fall_back_in_step_after_an_edit(catalogue: KnowledgeGraph) -> None:  # noqa: F811
    def bounds(kg: KnowledgeGraph) -> set[str]:
        index = partition.GraphIndex.of(kg.triples, ())
        cut = slices_of(lambda r: index.triples[index.starts[r]].subject, index.starts, SIZE)
        return set(cut.bounds)

    before = bounds(catalogue)
    assert len(before) >= 10
    rng = random.Random(3)
    for _ in range(5):
        subject = _a_label(catalogue, rng).subject
        more = [Statement(subject, RDFS_LABEL, Literal(f"extra {i}")) for i in range(40)]
        grown = KnowledgeGraph(
            catalogue.base, sorted({*catalogue.triples, *more}, key=str), catalogue.origins
        )
        assert len(before ^ bounds(grown)) <= 2  # at most the cut after the edit moved
        shrunk = _edited(catalogue, _a_label(catalogue, rng))
        assert len(before ^ bounds(shrunk)) <= 2


def test_the_key_covers_the_store_the_range_and_the_shapes(
    catalogue: KnowledgeGraph,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    part = list(catalogue.triples[:200])
    key = partition_key(part, (None, "x"))
    assert partition_key(list(part), (None, "x")) == key
    assert partition_key(part[:-1], (None, "x")) != key
    assert partition_key(part[::-1], (None, "x")) != key  # order too: the store is loaded so
    assert partition_key(part, (None, "y")) != key
    assert partition_key(part, ("x", None)) != key
    shapes = tmp_path / "shapes"
    shutil.copytree(Path(validate.__file__).parent.parent / "shapes", shapes)
    (shapes / "extra.ttl").write_text("# one more shapes file\n")
    monkeypatch.setattr(validcache, "shapes_files", lambda: sorted(shapes.glob("*.ttl")))
    validcache.fingerprint.cache_clear()
    try:
        assert partition_key(part, (None, "x")) != key
    finally:
        validcache.fingerprint.cache_clear()


def test_other_shapes_never_use_the_memo(catalogue: KnowledgeGraph, tmp_path: Path) -> None:  # noqa: F811
    memo = PartitionMemo(LoadCache(tmp_path))
    shapes = validate.load_shapes()
    validate_graph(catalogue, shapes, partition=SIZE, partition_above=0, memo=memo)
    assert memo.found == memo.computed == 0


def test_a_build_in_partitions_with_the_cache_writes_what_a_build_without_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    _generate(6, data)
    memos: list[PartitionMemo] = []

    class Counted(PartitionMemo):
        def __init__(self, store: LoadCache) -> None:
            super().__init__(store)
            memos.append(self)

    monkeypatch.setattr(validcache, "PartitionMemo", Counted)
    small = partial(validate.validate_graph, partition=SIZE, partition_above=0)
    monkeypatch.setattr(validate, "validate_graph", small)
    monkeypatch.delenv("CRAMPKG_NO_CACHE", raising=False)
    assert build(data, tmp_path / "inc" / "dist").report.conforms
    edited = sorted((data / "conditions").glob("*.yaml"))[2]
    edited.write_text(edited.read_text().replace("stance: supports", "stance: hypothesis", 1))
    assert build(data, tmp_path / "inc" / "dist").report.conforms
    assert memos[0].computed >= 5 and memos[0].found == 0
    assert 1 <= memos[1].computed < memos[1].found
    monkeypatch.setenv("CRAMPKG_NO_CACHE", "1")
    assert build(data, tmp_path / "full" / "dist").report.conforms
    assert len(memos) == 2  # no cache, no memo
    assert not (tmp_path / "full" / FOLDER).exists()
    assert _tree(tmp_path / "inc" / "dist") == _tree(tmp_path / "full" / "dist")
