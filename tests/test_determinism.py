"""Same data, same bytes: whatever the hash seed or the order files and items come in.

Issue 9, case 11. The knowledge graph has no blank nodes at all, so its sorted N-Triples are
already their own RDFC-1.0 canonical form; the only published file with blank node labels is
the validation report, whose labels come from the sorted problems.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    Literal,
    NamedNode,
    RdfFormat,
    parse,
    serialize,
)

from pipeline import __version__
from pipeline.build import run_pipeline
from pipeline.exporters.base import ExportContext
from pipeline.exporters.validation import ValidationReportExporter
from pipeline.report import Report
from pipeline.resources import ontology_file
from tests.conftest import DATA, MINIMAL, ROOT


def _build(data: Path, out: Path, seed: str) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "-q", "--data", str(data), "--out", str(out)],
        cwd=ROOT,
        check=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("data", [MINIMAL, DATA], ids=["minimal", "corpus"])
def test_hash_seed_does_not_matter(data: Path, tmp_path: Path) -> None:
    a = _build(data, tmp_path / "a", "1")
    b = _build(data, tmp_path / "b", "4242")
    assert a == b


@pytest.fixture(scope="module")
def builds() -> dict[str, dict[str, bytes]]:
    return {"minimal": run_pipeline(MINIMAL).files, "corpus": run_pipeline(DATA).files}


def test_file_order_does_not_matter(
    monkeypatch: pytest.MonkeyPatch, builds: dict[str, dict[str, bytes]]
) -> None:
    reference = builds["corpus"]
    real_rglob = Path.rglob

    def shuffled(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        found = list(real_rglob(self, pattern))
        random.Random(7).shuffle(found)
        found.reverse()
        return iter(found)

    monkeypatch.setattr(Path, "rglob", shuffled)
    assert run_pipeline(DATA).files == reference


def test_source_date_epoch_is_the_only_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert b"buildTime" not in run_pipeline(MINIMAL).files["manifest.json"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert (
        b'"buildTime": "2023-11-14T22:13:20+00:00"' in run_pipeline(MINIMAL).files["manifest.json"]
    )


def _reverse_items(text: str) -> str:
    """The items of a file's top-level list (`  - ` at two spaces), in reverse order."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("  - ")]
    chunks = [lines[a:b] for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]
    chunks = [[*c[:-1], c[-1] if c[-1].endswith("\n") else c[-1] + "\n"] for c in chunks]
    return "".join(lines[: starts[0]] + [line for c in reversed(chunks) for line in c])


def test_item_order_within_files_does_not_matter(
    builds: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """Entities and claims listed in reverse: the same outputs; only the validation report's
    file:line references (and so the manifest's checksums of it) follow the items."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    for path in sorted(data.glob("entities/*.yaml")) + sorted(data.glob("claims/*.yaml")):
        path.write_text(_reverse_items(path.read_text()))
    files, reference = run_pipeline(data).files, builds["corpus"]
    assert set(files) == set(reference)
    changed = {name for name in files if files[name] != reference[name]}
    assert changed == {"validation/report.ttl", "validation/report.txt", "manifest.json"}

    def unplaced(report: bytes) -> list[str]:
        return sorted(re.sub(r"\.yaml:[0-9]+:[0-9]+", ".yaml", report.decode()).splitlines())

    report = "validation/report.txt"
    assert unplaced(files[report]) == unplaced(reference[report])


@pytest.mark.parametrize("build", ["minimal", "corpus"])
def test_graph_has_no_blank_nodes_so_rdfc10_is_the_identity(
    build: str, builds: dict[str, dict[str, bytes]]
) -> None:
    files = builds[build]
    triples = list(parse(files["graph.nt"], RdfFormat.N_TRIPLES))
    assert all(isinstance(t.subject, NamedNode) for t in triples)
    assert all(isinstance(t.object, NamedNode | Literal) for t in triples)
    for name, fmt in (
        ("graph.ttl", RdfFormat.TURTLE),
        ("graph.jsonld", RdfFormat.JSON_LD),
        ("void.ttl", RdfFormat.TURTLE),
    ):
        terms = [term for t in parse(files[name], fmt) for term in (t.subject, t.object)]
        assert not [term for term in terms if isinstance(term, BlankNode)], name
    canonical = Dataset(triples)  # quads in the default graph
    canonical.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    nquads = serialize(canonical, format=RdfFormat.N_QUADS)
    assert nquads is not None
    assert sorted(nquads.decode().splitlines()) == files["graph.nt"].decode().splitlines()


def test_ontology_is_published_verbatim(builds: dict[str, dict[str, bytes]]) -> None:
    """Its blank nodes (OWL lists and restrictions) are anonymous `[]` and `()`: no labels."""
    assert builds["minimal"]["ontology.ttl"] == ontology_file().read_bytes()
    assert b"_:" not in builds["minimal"]["ontology.ttl"]


@pytest.mark.parametrize("build", ["minimal", "corpus"])
def test_validation_report_blank_nodes_do_not_depend_on_problem_order(
    build: str, builds: dict[str, dict[str, bytes]]
) -> None:
    result = run_pipeline(MINIMAL if build == "minimal" else DATA, export=False)
    assert result.corpus is not None and result.graph is not None
    problems = list(result.report.problems)
    random.Random(11).shuffle(problems)
    ctx = ExportContext(result.corpus, result.graph, Report(problems), __version__, result.triage)
    assert (
        ValidationReportExporter().export(ctx)["validation/report.ttl"]
        == (builds[build]["validation/report.ttl"])
    )


def test_validation_report_blank_node_labels_are_rdfc10(
    builds: dict[str, dict[str, bytes]],
) -> None:
    published = Dataset(parse(builds["minimal"]["validation/report.ttl"], RdfFormat.TURTLE))
    canonical = Dataset(published)
    canonical.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    assert canonical == published
