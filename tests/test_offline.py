"""The build opens no network connection: sockets are denied during a full build."""

from __future__ import annotations

from pathlib import Path

from pipeline.build import build
from tests.conftest import DATA


def test_full_build_without_network(tmp_path: Path, no_network: list[str]) -> None:
    result = build(DATA, tmp_path / "dist")
    assert result.report.conforms, result.report.to_text()
    assert (tmp_path / "dist" / "graph.ttl").exists()
    assert no_network == []


def test_remote_imports_in_shapes_are_not_followed(tmp_path: Path, no_network: list[str]) -> None:
    from pipeline.graph import KnowledgeGraph
    from pipeline.validate import load_shapes, validate_graph

    shapes = tmp_path / "remote.ttl"
    shapes.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<urn:x:shapes> a owl:Ontology ; owl:imports <http://example.org/remote-shapes.ttl> .\n"
    )
    outcome = validate_graph(KnowledgeGraph("urn:x:", []), load_shapes([shapes]))
    assert outcome.conforms
    assert no_network == []
