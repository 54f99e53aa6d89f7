"""The API documents (`dist/api/`): which exist, their contract, and the triples they hold.

The proof of correctness is independent of the exporter: pyld expands each document (its
remote context served from the build by a document loader that refuses anything else) and the
triples must be exactly the condition's subgraph, computed here from graph.nt with rdflib.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyld import jsonld
from pyoxigraph import Literal, NamedNode, Triple
from rdflib import RDF, RDFS, SKOS, Graph, Namespace, URIRef
from rdflib.term import Node

from pipeline.build import run_pipeline
from pipeline.exporters.api import ShapeError, api_files
from pipeline.exporters.api_context import CONTEXT_MAJOR, RELATION_TERMS, api_context
from pipeline.exporters.api_schema import GROUPS
from pipeline.exporters.base import ExportContext, content
from pipeline.graph import KnowledgeGraph
from pipeline.model import Corpus
from pipeline.report import Report
from pipeline.vocab import PREDICATES
from tests.conftest import DATA, MINIMAL

CK = Namespace("https://w3id.org/crampkg/ontology#")
SCHEMA = Namespace("http://schema.org/")
OA = Namespace("http://www.w3.org/ns/oa#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCT = Namespace("http://purl.org/dc/terms/")
CITO = Namespace("http://purl.org/spar/cito/")
BIBO = Namespace("http://purl.org/ontology/bibo/")

Triples = set[tuple[Node, Node, Node]]


class Build:
    def __init__(self, files: dict[str, bytes], base: str):
        self.files, self.base = files, base
        self.context_iri = f"{base}context/v{CONTEXT_MAJOR}.jsonld"
        self.graph = Graph().parse(data=files["graph.nt"], format="nt")
        self.fetched: list[str] = []

    def loader(self, url: str, options: object = None) -> dict[str, Any]:
        """Serve the versioned context from the build; fail on any other URL."""
        self.fetched.append(url)
        if url != self.context_iri:
            raise AssertionError(f"a remote document was requested: {url}")
        document = json.loads(self.files[f"context/v{CONTEXT_MAJOR}.jsonld"])
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": document,
        }

    def docs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for name in sorted(self.files):
            if name.startswith("api/conditions/"):
                yield name, json.loads(self.files[name])

    def triples(self, doc: dict[str, Any]) -> Triples:
        options = {"format": "application/n-quads", "documentLoader": self.loader}
        nquads = jsonld.to_rdf(doc, options)
        return set(Graph().parse(data=nquads, format="nt"))


@pytest.fixture(scope="module", params=["minimal", "corpus"])
def build(request: pytest.FixtureRequest) -> Build:
    result = run_pipeline(MINIMAL if request.param == "minimal" else DATA)
    assert result.report.conforms and result.graph is not None, result.report.to_text()
    return Build(result.files, result.graph.base)


# ------------------------------------------------------------------ which documents


def _conditions_with_claims(g: Graph) -> set[URIRef]:
    return {c for c in g.subjects(RDF.type, CK.Condition) if (None, RDF.subject, c) in g}


def test_one_document_per_condition_that_has_claims(build: Build) -> None:
    expected = _conditions_with_claims(build.graph)
    assert expected
    assert {URIRef(doc["id"]) for _, doc in build.docs()} == expected
    for name, doc in build.docs():
        assert name == f"api/conditions/{doc['id'].removeprefix(build.base + 'entity/')}.json"


def test_index_lists_every_document(build: Build) -> None:
    index = json.loads(build.files["api/index.json"])
    Draft202012Validator(json.loads(build.files["api/index.schema.json"])).validate(index)
    assert index["context"] == build.context_iri
    assert sorted(f"api/{e['path']}" for e in index["conditions"]) == [n for n, _ in build.docs()]
    for entry in index["conditions"]:
        claims = set(build.graph.subjects(RDF.subject, URIRef(entry["id"])))
        assert entry["claims"] == len(claims)


# ------------------------------------------------------------------ contract


def test_documents_validate_against_the_schema(build: Build) -> None:
    schema = json.loads(build.files["api/condition.schema.json"])
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for name, doc in build.docs():
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (name, errors[:5])


def _walk_schema(schema: dict[str, Any], defs: dict[str, Any], path: str) -> Iterator[tuple]:
    for key, prop in schema.get("properties", {}).items():
        yield f"{path}.{key}", prop, key in schema.get("required", [])
        target = defs[prop["$ref"].rsplit("/", 1)[-1]] if "$ref" in prop else prop
        items = target.get("items", {})
        if "$ref" in items:
            items = defs[items["$ref"].rsplit("/", 1)[-1]]
        for nested in (target, items):
            if nested.get("type") == "object" and nested is not schema:
                yield from _walk_schema(nested, defs, f"{path}.{key}")


def test_schema_documents_every_field_and_arrays_are_always_present(build: Build) -> None:
    schema = json.loads(build.files["api/condition.schema.json"])
    defs = schema["$defs"]
    seen = 0
    for root in [schema, *defs.values()]:
        assert root["title"] and root["description"]
        for path, prop, required in _walk_schema(root, defs, root["title"]):
            seen += 1
            if "$ref" not in prop:
                assert prop.get("title") and prop.get("description"), path
            if prop.get("type") == "array":
                assert required, f"{path}: an array field must always be present"
    assert seen > 60


def _check_order(value: Any, schema: dict[str, Any], defs: dict[str, Any], path: str) -> None:
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_order(item, schema.get("items", {}), defs, f"{path}[{i}]")
    elif isinstance(value, dict) and "properties" in schema:
        order = list(schema["properties"])
        assert list(value) == [k for k in order if k in value], f"key order of {path}"
        for key, item in value.items():
            _check_order(item, schema["properties"][key], defs, f"{path}.{key}")


def test_keys_follow_the_schema_order(build: Build) -> None:
    schema = json.loads(build.files["api/condition.schema.json"])
    for name, doc in build.docs():
        _check_order(doc, schema, schema["$defs"], name)


def test_every_predicate_has_an_api_term() -> None:
    assert set(RELATION_TERMS) == set(PREDICATES) == set(GROUPS)
    assert len(set(RELATION_TERMS.values())) == len(RELATION_TERMS)


# ------------------------------------------------------------------ context


def test_context_is_versioned_and_never_fetched(build: Build, no_network: list[str]) -> None:
    assert build.context_iri.endswith(f"/context/v{CONTEXT_MAJOR}.jsonld")
    context = json.loads(build.files[f"context/v{CONTEXT_MAJOR}.jsonld"])["@context"]
    assert "@base" not in context  # ignored in remote contexts: documents use absolute IRIs
    build.fetched.clear()
    for _, doc in build.docs():
        assert doc["@context"] == build.context_iri
        build.triples(doc)
    assert set(build.fetched) == {build.context_iri}
    assert no_network == []


# The v1 context as released: its entries may not change (only new ones may be added) unless
# CONTEXT_MAJOR is bumped; then freeze the new major's entries here (docs/api.md).
FROZEN_V1 = (
    "@version @vocab adverseEffects altLabels anatomy associatedWith bibo body broadMatch "
    "broader causes characteristics citation cites cito ck claims closeMatch codeLabel codeValue "
    "codes codingSystem comment dcterms definition doi dose doseUnit doseValue epidemiology "
    "evidence exactMatch expectedPrognosis hasSource id involves label leadsTo mechanisms "
    "mentionText motivation narrowMatch naturalProgression notation note oa peerReviewed "
    "population predicate prefix preventions prov quote rdf rdfs referenceKind referenceTitle "
    "relatedMatch riskFactors schema seekCareWhen selector skos source sourceKind stance "
    "statements subject subtypes suffix symptoms target title treatments type "
    "unresolvedMarkers url value verificationStatus xsd year"
)
FROZEN_V1_SHA256 = "4cd6560db8a2c2bb1f2b939874359e2cfc75ac3a5b408f1985de6db2e9107d35"


def test_context_changes_are_additive_within_a_major_version() -> None:
    if CONTEXT_MAJOR != 1:
        pytest.fail("freeze the entries of the new major version in FROZEN_V1")
    context = api_context()
    missing = [name for name in FROZEN_V1.split() if name not in context]
    assert not missing, f"v1 entries removed: {missing}; bump CONTEXT_MAJOR"
    frozen = {name: context[name] for name in FROZEN_V1.split()}
    digest = hashlib.sha256(json.dumps(frozen, sort_keys=True).encode()).hexdigest()
    assert digest == FROZEN_V1_SHA256, "a v1 entry changed meaning: bump CONTEXT_MAJOR"


def _drop_empty(value: Any) -> Any:
    """Empty arrays hold no triples; compaction may name them differently."""
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def test_compacting_with_the_context_reproduces_each_document(build: Build) -> None:
    """The documents are what a JSON-LD processor writes with the published context: their
    terms, single values and arrays all follow from it."""
    options = {"documentLoader": build.loader}
    for name, doc in build.docs():
        compacted = jsonld.compact(jsonld.expand(doc, options), build.context_iri, options)
        assert _drop_empty(compacted) == _drop_empty(doc), name


# ------------------------------------------------------------------ triples


def _all(g: Graph, s: Node) -> Triples:
    return {(s, p, o) for p, o in g.predicate_objects(s)}


def _some(g: Graph, s: Node, props: tuple[URIRef, ...]) -> Triples:
    return {(s, p, o) for p in props for o in g.objects(s, p)}


def condition_subgraph(g: Graph, c: URIRef, base: str) -> Triples:
    """Exactly what a condition document holds (docs/api.md, "Which triples")."""
    out = {t for t in _all(g, c) if t[1] not in (RDFS.label, SKOS.inScheme)}
    for _, _, o in list(out):
        if isinstance(o, URIRef) and str(o).startswith(f"{base}entity/"):
            out |= _some(g, o, (RDF.type, SKOS.prefLabel))
    for code in g.objects(c, SCHEMA.code):
        out |= _all(g, code)
    for claim in g.subjects(RDF.subject, c):
        out |= _all(g, claim)
        for dose in g.objects(claim, CK.dose):
            out |= _all(g, dose)
        for source in g.objects(claim, PROV.wasDerivedFrom):
            out |= _some(g, source, (DCT.title, CK.sourceKind, SCHEMA.url))
        for ev in g.objects(claim, CK.hasEvidence):
            out |= _all(g, ev)
            for target in g.objects(ev, OA.hasTarget):
                out |= _all(g, target)
                for selector in g.objects(target, OA.hasSelector):
                    out |= _all(g, selector)
            for ref in g.objects(ev, CITO.citesAsEvidence):
                props = (CK.referenceKind, DCT.bibliographicCitation, DCT.title, DCT.issued)
                more = (BIBO.doi, SCHEMA.url, CK.peerReviewed, CK.mentionText)
                out |= _some(g, ref, props + more)
    return out


def test_each_document_expands_to_exactly_its_subgraph(build: Build) -> None:
    everything = set(build.graph)
    covered: Triples = set()
    for name, doc in build.docs():
        got = build.triples(doc)
        assert got <= everything, (name, sorted(got - everything)[:3])
        expected = condition_subgraph(build.graph, URIRef(doc["id"]), build.base)
        assert got == expected, (name, sorted(got - expected)[:3], sorted(expected - got)[:3])
        covered |= got
    # every claim about a documented condition is in a document, with its evidence
    claims = {
        t
        for t in everything
        if t[1] == RDF.subject and (t[2], RDF.type, CK.Condition) in everything
    }
    assert claims <= covered


def test_graph_jsonld_expands_to_graph_nt(no_network: list[str]) -> None:
    files = run_pipeline(MINIMAL).files
    doc = json.loads(files["graph.jsonld"])
    b = Build(files, "https://example.org/kg/")
    assert b.triples(doc) == set(b.graph)


# ------------------------------------------------------------------ robustness


def _ctx(triples: list[Triple], base: str = "https://example.org/kg/") -> ExportContext:
    return ExportContext(Corpus(), KnowledgeGraph(base, sorted(triples, key=str)), Report(), "0")


def test_a_property_the_api_cannot_show_fails_loudly() -> None:
    result = run_pipeline(MINIMAL, validate=False, export=False)
    assert result.graph is not None
    claim = NamedNode("https://example.org/kg/claim/t-stretch")
    extra = Triple(claim, NamedNode("https://example.org/new#property"), Literal("x"))
    with pytest.raises(ShapeError, match="does not represent"):
        {
            path: content(data)
            for path, data in api_files(_ctx([*result.graph.triples, extra])).items()
        }


def _synthetic(conditions: int, claims_each: int) -> list[Triple]:
    base, ck = "https://example.org/kg/", str(CK)
    rdf, skos, oa = str(RDF), str(SKOS), str(OA)
    n = NamedNode
    source = n(base + "source/s")
    out = [
        Triple(source, n(str(DCT.title)), Literal("S", language="en")),
        Triple(source, n(ck + "sourceKind"), n(ck + "editorialArticle")),
    ]
    for i in range(conditions):
        c, o = n(f"{base}entity/c{i}"), n(f"{base}entity/o{i}")
        out += [
            Triple(c, n(rdf + "type"), n(ck + "Condition")),
            Triple(c, n(skos + "prefLabel"), Literal(f"C{i}", language="en")),
            Triple(o, n(rdf + "type"), n(ck + "Symptom")),
            Triple(o, n(skos + "prefLabel"), Literal(f"O{i}", language="en")),
            Triple(c, n(ck + "hasSymptom"), o),
        ]
        for j in range(claims_each):
            k = n(f"{base}claim/c{i}-{j}")
            e = n(f"{k.value}/evidence/1")
            t, s = n(f"{e.value}/target"), n(f"{e.value}/selector")
            out += [
                Triple(k, n(rdf + "type"), n(ck + "Claim")),
                Triple(k, n(rdf + "subject"), c),
                Triple(k, n(rdf + "predicate"), n(ck + "hasSymptom")),
                Triple(k, n(rdf + "object"), o),
                Triple(k, n(ck + "stance"), n(ck + "supports")),
                Triple(k, n(str(PROV.wasDerivedFrom)), source),
                Triple(k, n(ck + "hasEvidence"), e),
                Triple(e, n(oa + "motivatedBy"), n(oa + "describing")),
                Triple(e, n(oa + "hasBody"), k),
                Triple(e, n(oa + "hasTarget"), t),
                Triple(t, n(oa + "hasSource"), source),
                Triple(t, n(oa + "hasSelector"), s),
                Triple(s, n(oa + "exact"), Literal(f"quote {i} {j}")),
            ]
    return out


def test_export_is_linear_in_the_graph() -> None:
    """2,000 conditions, 6,000 claims (~88k triples): a scan of all triples per condition would
    take minutes; the indexed export takes a couple of seconds."""
    ctx = _ctx(_synthetic(2000, 3))
    start = time.perf_counter()
    files = {path: content(data) for path, data in api_files(ctx).items()}  # made when written
    elapsed = time.perf_counter() - start
    assert len([f for f in files if f.startswith("api/conditions/")]) == 2000
    assert elapsed < 20, f"export took {elapsed:.1f} s"


def test_decimal_dose_keeps_its_datatype(minimal_copy: Path) -> None:
    claims = minimal_copy / "claims" / "test-article.yaml"
    claims.write_text(claims.read_text().replace("value: 10,", "value: 2.5,"))
    result = run_pipeline(minimal_copy)
    assert result.report.conforms and result.graph is not None, result.report.to_text()
    b = Build(result.files, result.graph.base)
    [(_, doc)] = list(b.docs())
    [baclofen] = [t for t in doc["treatments"] if t["id"].endswith("/baclofen")]
    assert baclofen["claims"][0]["dose"]["doseValue"] == {"@value": "2.5", "@type": "xsd:decimal"}
    assert b.triples(doc) == condition_subgraph(b.graph, URIRef(doc["id"]), b.base)


def test_unsorted_triples_are_refused() -> None:
    """The export reads each node from its run of the sorted graph: a subject in two runs
    would lose triples, so it is an error, not a smaller document."""
    result = run_pipeline(MINIMAL, validate=False, export=False)
    assert result.graph is not None
    triples = result.graph.triples
    moved = [*triples[1:], triples[0]]  # the first subject's first triple, out of its run
    ctx = ExportContext(Corpus(), KnowledgeGraph(result.graph.base, moved), Report(), "0")
    with pytest.raises(ValueError, match="not sorted"):
        api_files(ctx)


def test_a_triple_list_gives_the_same_files_as_the_built_table() -> None:
    """The export reads the built graph's table by its columns (`pipeline/exporters/nodes`)
    and any other sequence of triples a `Statement` at a time; both give the same bytes."""
    from pipeline.exporters.base import content
    from pipeline.triples import TripleTable

    result = run_pipeline(DATA, validate=False, export=False)
    assert result.graph is not None and result.corpus is not None
    assert isinstance(result.graph.triples, TripleTable)
    listed = KnowledgeGraph(result.graph.base, list(result.graph.triples))

    def files(kg: KnowledgeGraph) -> dict[str, bytes]:
        ctx = ExportContext(result.corpus, kg, Report(), "0")  # type: ignore[arg-type]
        return {path: content(data) for path, data in api_files(ctx).items()}

    from_table, from_list = files(result.graph), files(listed)
    assert len(from_table) > 20 and from_table == from_list
