"""`dist/void.ttl` (VoID and DCAT) and `dist/ontology.html`, on the real corpus."""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat, Store, parse

from pipeline.build import BuildResult
from pipeline.exporters import EXPORTERS, ExportContext
from pipeline.exporters.ontology_doc import _Ontology, _Page
from pipeline.exporters.void import DEFAULT_ENDPOINT, VoidExporter, read_example
from pipeline.resources import ontology_file
from tests.conftest import ROOT
from tests.test_query import build_corpus

BASE = "https://w3id.org/crampkg/"
DS = f"{BASE}dataset"
VOID, DCAT = "http://rdfs.org/ns/void#", "http://www.w3.org/ns/dcat#"
SH, RDFS = "http://www.w3.org/ns/shacl#", "http://www.w3.org/2000/01/rdf-schema#"
CK, OWL = "https://w3id.org/crampkg/ontology#", "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    out = tmp_path_factory.mktemp("dist")
    return out, build_corpus(out)


@pytest.fixture(scope="module")
def void(built: tuple[Path, BuildResult]) -> Store:
    store = Store()
    store.load(path=str(built[0] / "void.ttl"), format=RdfFormat.TURTLE)
    return store


def value(store: Store, s: str, p: str) -> str:
    found = [q.object for q in store.quads_for_pattern(NamedNode(s), NamedNode(p), None)]
    assert len(found) == 1, (s, p, found)
    return found[0].value


def values(store: Store, s: str, p: str) -> set[str]:
    return {q.object.value for q in store.quads_for_pattern(NamedNode(s), NamedNode(p), None)}


def test_dataset_metadata(void: Store) -> None:
    assert values(void, DS, RDF + "type") == {VOID + "Dataset", DCAT + "Dataset"}
    assert value(void, DS, "http://purl.org/dc/terms/title") == "Muscle cramp knowledge graph"
    assert (
        value(void, DS, "http://purl.org/dc/terms/license")
        == "https://creativecommons.org/licenses/by/4.0/"
    )
    assert value(void, DS, DCAT + "version") == value(void, DS, OWL + "versionInfo") == "0.1.0"
    publisher = value(void, DS, "http://purl.org/dc/terms/publisher")
    assert value(void, publisher, "http://xmlns.com/foaf/0.1/name") == "crampkg project"


def test_counts_match_the_graph(void: Store, built: tuple[Path, BuildResult]) -> None:
    dist, result = built
    nt = (dist / "graph.nt").read_bytes().splitlines()
    manifest = json.loads((dist / "manifest.json").read_text())
    assert int(value(void, DS, VOID + "triples")) == len(nt) == manifest["counts"]["triples"]
    graph = Store()
    graph.bulk_load(path=str(dist / "graph.nt"), format=RdfFormat.N_TRIPLES)
    subjects = {q.subject for q in graph}
    assert int(value(void, DS, VOID + "entities")) == len(subjects)
    assert int(value(void, DS, VOID + "distinctSubjects")) == len(subjects)
    assert int(value(void, DS, VOID + "properties")) == len({q.predicate for q in graph})
    # one partition per class, with the number of its instances
    corpus = result.corpus
    assert corpus is not None
    per_type = Counter(e.type for e in corpus.entities.values())
    partitions = {
        value(void, p, VOID + "class"): int(value(void, p, VOID + "entities"))
        for p in values(void, DS, VOID + "classPartition")
    }
    assert partitions[CK + "Condition"] == per_type["condition"] == 40
    assert partitions[CK + "Claim"] == len(corpus.claims)
    assert partitions[CK + "AnecdotalClaim"] == sum(
        c.source == "healthboard-cramp-causes-comments" for c in corpus.claims.values()
    )
    assert len(partitions) == int(value(void, DS, VOID + "classes"))
    assert value(void, DS, VOID + "exampleResource") == f"{BASE}entity/muscle-cramp"


def test_vocabularies(void: Store) -> None:
    assert values(void, DS, VOID + "vocabulary") >= {
        CK,
        "http://schema.org/",
        "http://www.w3.org/2004/02/skos/core#",
        "http://www.w3.org/ns/prov#",
        "http://www.w3.org/ns/oa#",
        "http://purl.org/spar/cito/",
        "http://purl.org/dc/terms/",
    }
    assert (
        value(void, DS, "http://purl.org/dc/terms/conformsTo")
        == "https://w3id.org/crampkg/ontology"
    )


def test_dumps_are_files_of_the_build(void: Store, built: tuple[Path, BuildResult]) -> None:
    dumps = values(void, DS, VOID + "dataDump")
    assert dumps == {f"{BASE}graph.nt", f"{BASE}graph.ttl", f"{BASE}graph.jsonld"}
    for dist in values(void, DS, DCAT + "distribution") - {f"{DS}/distribution/sparql"}:
        url = value(void, dist, DCAT + "downloadURL")
        assert url in dumps
        assert url.removeprefix(BASE) in built[1].files
        assert value(void, dist, DCAT + "mediaType").startswith(
            "https://www.iana.org/assignments/media-types/"
        )


def test_sparql_endpoint_default_and_configured(
    void: Store, built: tuple[Path, BuildResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        value(void, DS, VOID + "sparqlEndpoint")
        == DEFAULT_ENDPOINT
        == "http://127.0.0.1:7878/query"
    )
    assert value(void, f"{DS}/sparql", DCAT + "endpointURL") == DEFAULT_ENDPOINT
    monkeypatch.setenv("CRAMPKG_SPARQL_ENDPOINT", "https://sparql.example.org/crampkg")
    monkeypatch.setenv("CRAMPKG_DOWNLOAD_URL", "https://downloads.example.org/crampkg/0.1.0")
    result = built[1]
    assert result.corpus is not None and result.graph is not None
    ctx = ExportContext(result.corpus, result.graph, result.report, "test")
    data = VoidExporter().export(ctx)["void.ttl"]
    store = Store()
    store.load(data, format=RdfFormat.TURTLE)
    assert value(store, DS, VOID + "sparqlEndpoint") == "https://sparql.example.org/crampkg"
    assert "https://downloads.example.org/crampkg/0.1.0/graph.nt" in values(
        store, DS, VOID + "dataDump"
    )


def test_example_queries_are_the_competency_questions(void: Store) -> None:
    files = sorted((ROOT / "queries").glob("*.rq"))
    examples = {
        q.subject.value
        for q in void.quads_for_pattern(
            None, NamedNode(RDF + "type"), NamedNode(SH + "SPARQLExecutable")
        )
    }
    assert examples == {f"{BASE}query/{p.stem}" for p in files}
    for p in files:
        node = f"{BASE}query/{p.stem}"
        example = read_example(p)
        assert value(void, node, RDFS + "comment") == example.question
        assert value(void, node, SH + "select") == p.read_text(encoding="utf-8")
        assert SH + "SPARQLSelectExecutable" in values(void, node, RDF + "type")
        assert value(void, node, "http://schema.org/target") == DEFAULT_ENDPOINT


def test_void_is_deterministic(built: tuple[Path, BuildResult]) -> None:
    """Exporting again gives the same bytes (across hash seeds: tests/test_determinism.py)."""
    result = built[1]
    assert result.corpus is not None and result.graph is not None
    ctx = ExportContext(result.corpus, result.graph, result.report, "0.1.0")
    for name, file in (("void", "void.ttl"), ("ontology-doc", "ontology.html")):
        assert EXPORTERS[name].export(ctx) == {file: result.files[file]}
    assert {"void", "ontology-doc"} <= set(EXPORTERS)


# --------------------------------------------------------------------------- ontology.html


class _Html(HTMLParser):
    """Collects ids, sections' text and checks that elements are properly nested."""

    VOID_TAGS = frozenset({"meta", "br", "img", "link", "hr", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: dict[str, list[str]] = {}
        self.tags: Counter[str] = Counter()
        self.current: list[list[str]] = []
        self.hrefs: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        a = dict(attrs)
        if tag not in self.VOID_TAGS:
            self.stack.append(tag)
        if tag == "section" and a.get("id"):
            self.current.append([])
            self.ids[a["id"] or ""] = self.current[-1]
            self.hrefs[a["id"] or ""] = []
        elif a.get("id"):
            self.ids[a["id"] or ""] = []
        if tag == "a" and self.hrefs and self.current:
            list(self.hrefs.values())[-1].append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.current:
            self.current[-1].append(data)


@pytest.fixture(scope="module")
def page(built: tuple[Path, BuildResult]) -> _Html:
    parser = _Html()
    parser.feed((built[0] / "ontology.html").read_text(encoding="utf-8"))
    parser.close()
    assert parser.stack == []
    return parser


def _terms() -> list[tuple[str, dict[str, list[object]]]]:
    facts: dict[str, dict[str, list[object]]] = {}
    for t in parse(path=str(ontology_file()), format=RdfFormat.TURTLE):
        if isinstance(t.subject, NamedNode) and t.subject.value.startswith(CK):
            facts.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(t.object)
    kinds = {NamedNode(OWL + k) for k in ("Class", "ObjectProperty", "DatatypeProperty")}
    return [(s, f) for s, f in sorted(facts.items()) if kinds & set(f.get(RDF + "type", []))]


def test_every_class_and_property_is_documented(page: _Html) -> None:
    terms = _terms()
    assert len(terms) > 40
    for iri, facts in terms:
        local = iri.removeprefix(CK)
        assert local in page.ids, f"no section for ck:{local}"
        text = " ".join(" ".join(page.ids[local]).split())
        for prop in ("label", "comment"):
            literal = facts[RDFS + prop][0]
            assert isinstance(literal, Literal)
            assert " ".join(literal.value.split()) in text, (local, prop)
        for prop, heading in (
            (RDFS + "domain", "domain"),
            (RDFS + "range", "range"),
            (RDFS + "subClassOf", "subclass of"),
            (RDFS + "subPropertyOf", "subproperty of"),
        ):
            for target in facts.get(prop, []):
                assert heading in text, (local, heading)
                if isinstance(target, NamedNode):
                    shown = target.value.removeprefix(CK)
                    assert shown.rsplit("/", 1)[-1].rsplit("#", 1)[-1] in text, (
                        local,
                        heading,
                        target,
                    )


def test_unions_controlled_vocabularies_and_no_script(
    page: _Html, built: tuple[Path, BuildResult]
) -> None:
    text = " ".join(" ".join(page.ids["hasTreatment"]).split())
    assert "range ck:Treatment or ck:Drug" in text
    assert "subproperty of schema:possibleTreatment" in text
    for concept in ("supports", "disputes", "hypothesis", "mentions", "readerComments", "verified"):
        assert concept in page.ids
    assert page.tags["script"] == 0
    html = (built[0] / "ontology.html").read_text(encoding="utf-8")
    assert "&quot;a 2018 review&quot;" in html  # quotes in comments are escaped


def test_everything_is_escaped() -> None:
    hostile = b"""@prefix ck: <https://w3id.org/crampkg/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/crampkg/ontology> a owl:Ontology ; rdfs:label "<b>onto</b>" .
ck:Evil a owl:Class ; rdfs:label "<script>alert(1)</script>" ;
    rdfs:comment "A & B \\"quoted\\" <i>" ; rdfs:subClassOf <http://example.org/x?a=1&b=2> .
"""
    html = _Page(_Ontology(hostile)).render('1.0"><script>')
    assert "<script" not in html and "<i>" not in html and "<b>onto" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B &quot;quoted&quot; &lt;i&gt;" in html
    assert 'href="http://example.org/x?a=1&amp;b=2"' in html
