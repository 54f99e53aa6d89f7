"""graph.ttl, graph.nt and graph.jsonld hold exactly the same triples.

JSON-LD is expanded by two independent processors (rdflib and pyld); neither may fetch a
remote context (the context is inline, and the no_network fixture would fail the test).
"""

from __future__ import annotations

import json

import pytest
from pyld import jsonld
from rdflib import Graph
from rdflib.compare import isomorphic

from pipeline.build import run_pipeline
from tests.conftest import DATA, MINIMAL


@pytest.fixture(scope="module", params=["minimal", "corpus"])
def files(request: pytest.FixtureRequest) -> dict[str, bytes]:
    result = run_pipeline(MINIMAL if request.param == "minimal" else DATA)
    assert result.report.conforms, result.report.to_text()
    return result.files


def _nt(files: dict[str, bytes]) -> Graph:
    return Graph().parse(data=files["graph.nt"], format="nt")


def test_turtle_equals_ntriples(files: dict[str, bytes], no_network: list[str]) -> None:
    ttl = Graph().parse(data=files["graph.ttl"], format="turtle")
    assert isomorphic(ttl, _nt(files))


def test_jsonld_equals_ntriples_rdflib(files: dict[str, bytes], no_network: list[str]) -> None:
    g = Graph().parse(data=files["graph.jsonld"], format="json-ld")
    assert len(g) == len(_nt(files))
    assert isomorphic(g, _nt(files))


def test_jsonld_equals_ntriples_pyld(files: dict[str, bytes], no_network: list[str]) -> None:
    def refuse(url: str, options: object = None) -> None:
        raise AssertionError(f"remote context requested: {url}")

    doc = json.loads(files["graph.jsonld"])
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": refuse})
    g = Graph().parse(data=nquads, format="nt")
    assert isomorphic(g, _nt(files))


def test_ntriples_sorted_and_unique(files: dict[str, bytes]) -> None:
    lines = files["graph.nt"].decode().splitlines()
    assert lines == sorted(set(lines))


def test_no_blank_nodes(files: dict[str, bytes]) -> None:
    assert b"_:" not in files["graph.nt"]


def test_context_file_matches_inline_context(files: dict[str, bytes]) -> None:
    inline = json.loads(files["graph.jsonld"])["@context"]
    assert json.loads(files["context.jsonld"]) == {"@context": inline}
