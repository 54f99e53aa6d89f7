"""Issue 9, case 5: nothing the data or the shapes ask for is fetched.

Two witnesses in every test: the `no_network` socket hook (any connection attempt from Python
fails and is recorded), and a recording listener on 127.0.0.1 that the remote IRIs point at,
which also sees connections from Rust code (pyoxigraph) that the hook cannot see.

What happens to each remote reference:
- `owl:imports` in a shapes file: refused (`ShapesError`) before any engine runs, naming the
  import: it is never followed, and silently validating without the imported shapes would be
  a weaker check than the author asked for.
- a remote `@context` in schema.org markup: refused (`markup-context`); the vendored
  schema.org context is the only one ever read.
- an `@context` key in the YAML: refused by the schema (unknown field), with file and line.
- IRIs of the data (base, license) that a live server answers: never dereferenced; the API
  documents name a remote context (`{base}context/v1.jsonld`), which `crampkg diff` never loads.
- `SERVICE` in a SHACL-SPARQL constraint: refused (`ShapesError`) before any engine runs;
  pyoxigraph and rdflib would both execute it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph

from pipeline.build import build, run_pipeline
from pipeline.cli import main
from pipeline.graph import KnowledgeGraph
from pipeline.markup.schemaorg_check import check_markup
from pipeline.markup.schemaorg_vocab import vocabulary
from pipeline.report import Severity
from pipeline.validate import ShapesError, load_shapes, validate_graph
from tests.conftest import DATA, MINIMAL
from tests.listener import RecordingListener


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    served = RecordingListener()
    yield served
    served.close()


@pytest.fixture(scope="module")
def minimal_graph() -> KnowledgeGraph:
    result = run_pipeline(MINIMAL, validate=False, export=False)
    assert result.graph is not None
    return result.graph


def test_full_build_without_network(tmp_path: Path, no_network: list[str]) -> None:
    result = build(DATA, tmp_path / "dist")
    assert result.report.conforms, result.report.to_text()
    assert (tmp_path / "dist" / "graph.ttl").exists()
    assert no_network == []


LABEL_SHAPE = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
<urn:x:labelled> a sh:NodeShape ; sh:targetClass <https://w3id.org/crampkg/ontology#Condition> ;
  sh:property [ sh:path <http://www.w3.org/2000/01/rdf-schema#label> ; sh:minCount 1 ] .
"""


@pytest.mark.parametrize("engine", ["oxigraph", "hybrid", "pyshacl"])
def test_owl_imports_in_shapes_not_followed(
    engine: str,
    tmp_path: Path,
    minimal_graph: KnowledgeGraph,
    listener: RecordingListener,
    no_network: list[str],
) -> None:
    """Refused before any engine runs, naming the import; nothing is fetched."""
    path = tmp_path / "importing-shapes.ttl"
    path.write_text(
        LABEL_SHAPE + "<urn:x:shapes> a <http://www.w3.org/2002/07/owl#Ontology> ; "
        f"<http://www.w3.org/2002/07/owl#imports> <{listener.url}remote-shapes.ttl> .\n"
    )
    shapes = load_shapes([path])
    with pytest.raises(ShapesError, match="owl:imports"):
        validate_graph(minimal_graph, shapes, engine=engine)  # type: ignore[arg-type]
    assert listener.connections() == 0
    assert no_network == []


def test_remote_context_in_markup_refused(
    listener: RecordingListener, no_network: list[str]
) -> None:
    page = {"@context": f"{listener.url}context.jsonld", "@type": "MedicalWebPage", "name": "x"}
    assert "markup-context" in {issue.rule for issue in check_markup(page, vocabulary())}
    assert listener.connections() == 0
    assert no_network == []


def test_context_key_in_yaml_refused_with_file_and_line(
    minimal_copy: Path, listener: RecordingListener, no_network: list[str]
) -> None:
    dataset = minimal_copy / "dataset.yaml"
    text = dataset.read_text(encoding="utf-8")
    dataset.write_text(text.replace("dataset:\n", f"dataset:\n  '@context': {listener.url}\n"))
    result = run_pipeline(minimal_copy, validate=False, export=False)
    errors = [p for p in result.report.problems if p.severity is Severity.VIOLATION]
    assert not result.report.conforms
    assert "data/dataset.yaml:2:3: violation: unknown field `@context`" in result.report.to_text()
    assert any(p.rule == "unknown-field" for p in errors)
    assert listener.connections() == 0
    assert no_network == []


def test_remote_iris_in_data_never_dereferenced(
    minimal_copy: Path,
    tmp_path: Path,
    listener: RecordingListener,
    no_network: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every IRI the build mints or writes, and the API documents' context, on a live server."""
    dataset = minimal_copy / "dataset.yaml"
    text = dataset.read_text(encoding="utf-8").replace("https://example.org/kg/", listener.url)
    text = text.replace("https://creativecommons.org/licenses/by/4.0/", f"{listener.url}lic")
    dataset.write_text(text, encoding="utf-8")
    result = build(minimal_copy, tmp_path / "dist")  # validation and every exporter
    assert result.report.conforms, result.report.to_text()
    documents = sorted((tmp_path / "dist" / "api").glob("conditions/*.json"))
    assert documents and f'"{listener.url}context/v1.jsonld"' in documents[0].read_text()
    dist = str(tmp_path / "dist")
    assert main(["diff", dist, dist, "--format", "json"]) == 0
    capsys.readouterr()
    assert listener.connections() == 0
    assert no_network == []


@pytest.mark.parametrize("engine", ["oxigraph", "hybrid", "pyshacl"])
def test_service_in_shacl_sparql_constraint_not_called(
    engine: str, minimal_graph: KnowledgeGraph, listener: RecordingListener
) -> None:
    """Refused before any engine runs, naming SERVICE; no connection."""
    shapes = Graph().parse(
        format="turtle",
        data=f"""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:x:remote> a sh:NodeShape ;
          sh:targetClass <https://w3id.org/crampkg/ontology#Condition> ;
          sh:sparql [ a sh:SPARQLConstraint ; sh:message "remote" ;
            sh:select "SELECT $this WHERE {{ SERVICE <{listener.url}sparql> {{ ?a ?b ?c }} }}" ] .
        """,
    )
    with pytest.raises(ShapesError, match="SERVICE"):
        validate_graph(minimal_graph, shapes, engine=engine)  # type: ignore[arg-type]
    assert listener.connections() == 0
