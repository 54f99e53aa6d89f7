"""The real corpus: it conforms, and the facts that make it trustworthy hold."""

from __future__ import annotations

import pytest
from pyoxigraph import Store

from pipeline.build import BuildResult, run_pipeline
from pipeline.report import Severity
from pipeline.sparqlshapes import load_store
from tests.conftest import DATA

PREFIXES = """
PREFIX ck: <https://w3id.org/crampkg/ontology#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX e: <https://w3id.org/crampkg/entity/>
PREFIX s: <https://w3id.org/crampkg/source/>
"""


@pytest.fixture(scope="module")
def built() -> BuildResult:
    result = run_pipeline(DATA, export=False)
    return result


@pytest.fixture(scope="module")
def store(built: BuildResult) -> Store:
    assert built.graph is not None
    return load_store(built.graph.triples)


def rows(store: Store, query: str) -> list[tuple[str, ...]]:
    out = []
    for r in store.query(PREFIXES + query):  # type: ignore[union-attr]
        out.append(tuple(str(v.value) if v is not None else "" for v in r))
    return sorted(out)


def test_corpus_conforms(built: BuildResult) -> None:
    assert built.report.conforms, built.report.to_text()
    assert built.report.count(Severity.VIOLATION) == 0


def test_all_five_documents_have_claims(built: BuildResult) -> None:
    assert built.corpus is not None
    by_source = {c.source for c in built.corpus.claims.values()}
    assert by_source == set(built.corpus.sources)
    assert len(built.corpus.claims) >= 400


def test_every_evidence_is_anchored(built: BuildResult) -> None:
    assert built.corpus is not None
    for claim in built.corpus.claims.values():
        for ev in claim.evidence:
            assert ev.exact and ev.span, claim.id


@pytest.mark.parametrize("cause", ["dehydration", "electrolyte-depletion"])
def test_contested_causes_show_both_sides(store: Store, cause: str) -> None:
    stances = rows(
        store,
        f"""
        SELECT DISTINCT ?stance WHERE {{
          ?c rdf:subject e:muscle-cramp ; rdf:predicate ck:hasCause ; rdf:object e:{cause} ;
             ck:stance ?stance .
        }}""",
    )
    names = {s[0].rsplit("#", 1)[-1] for s in stances}
    assert "disputes" in names
    assert names & {"supports", "hypothesis"}


def test_reader_comment_claims_are_anecdotal(store: Store) -> None:
    non_anecdotal = rows(
        store,
        """
        SELECT ?c WHERE {
          ?c prov:wasDerivedFrom s:healthboard-cramp-causes-comments .
          FILTER NOT EXISTS { ?c a ck:AnecdotalClaim }
        }""",
    )
    assert non_anecdotal == []
    anecdotal = rows(store, "SELECT ?c WHERE { ?c a ck:AnecdotalClaim }")
    assert len(anecdotal) >= 50


def test_copy_is_linked_to_its_original(store: Store) -> None:
    assert rows(
        store, "SELECT ?o ?sim WHERE { s:healthboard-copy ck:copyOf ?o ; ck:similarity ?sim }"
    )[0][0].endswith("source/healthboard-cramp-causes")


def test_unresolved_markers_recorded_not_invented(store: Store) -> None:
    markers = rows(
        store,
        """
        SELECT DISTINCT ?m WHERE {
          ?c prov:wasDerivedFrom s:droracle-cramp-causes ; ck:hasEvidence ?e .
          ?e ck:unresolvedCitationMarker ?m }""",
    )
    assert {m[0] for m in markers} == {"1", "2", "3", "4", "5"}


def test_baclofen_dose_has_unit(store: Store) -> None:
    doses = rows(
        store,
        """
        PREFIX schema: <http://schema.org/>
        SELECT ?v ?u WHERE { ?c rdf:object e:baclofen ; ck:dose ?d .
                             ?d schema:doseValue ?v ; schema:doseUnit ?u }""",
    )
    assert ("10", "mg/day") in doses


def test_named_review_is_not_resolved_to_one_reference(store: Store) -> None:
    candidates = rows(
        store,
        """
        PREFIX r: <https://w3id.org/crampkg/reference/>
        SELECT ?x WHERE { r:ref-verywell-2018-review ck:possibleIdentity ?x }""",
    )
    assert len(candidates) == 2
