"""The markup and its inclusion policy: what a careful medical editor would publish."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from pipeline.build import build, run_pipeline
from pipeline.markup.evidence import condition_views
from pipeline.markup.markup import page_markup
from pipeline.markup.policy import (
    DEFAULT_POLICY,
    InclusionPolicy,
    PolicyError,
    load_policy,
)
from pipeline.markup.schemaorg_check import check_markup
from pipeline.markup.schemaorg_vocab import context_document, vocabulary
from pipeline.model import Corpus
from pipeline.triage import Duplicate
from tests.conftest import DATA, MINIMAL, ROOT
from tests.test_site import invisible_values

Markup = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def corpus() -> tuple[Corpus, list[Duplicate]]:
    result = run_pipeline(DATA, validate=False, export=False)
    assert result.corpus is not None and result.triage is not None
    return result.corpus, result.triage.duplicates


def _markup(corpus: tuple[Corpus, list[Duplicate]], **policy: Any) -> Markup:
    c, duplicates = corpus
    chosen = InclusionPolicy(**policy)
    assert c.dataset is not None
    return {
        v.entity.id: page_markup(v, vocabulary(), chosen, c.dataset.base)
        for v in condition_views(c, duplicates, chosen)
    }


def _names(node: dict[str, Any], prop: str) -> list[str]:
    return [n["name"] for n in node.get(prop, [])]


def _all_text(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False)


@pytest.fixture(scope="module")
def minimal() -> dict[str, Any]:
    result = run_pipeline(MINIMAL, validate=False)  # SHACL is tested elsewhere
    assert result.report.conforms, result.report.to_text()
    return json.loads(result.files["schemaorg/muscle-cramp.jsonld"])


def test_minimal_page(minimal: dict[str, Any]) -> None:
    assert minimal["@context"] == "https://schema.org"
    assert minimal["@type"] == "MedicalWebPage"
    about = minimal["about"]
    assert about["@type"] == "MedicalCondition"
    assert about["@id"] == "https://example.org/kg/entity/muscle-cramp"
    assert about["alternateName"] == ["Charley horse"]
    assert about["code"] == [
        {"@type": "MedicalCode", "codeValue": "D009120", "codingSystem": "MeSH"},
        {"@type": "MedicalCode", "codeValue": "R25.2", "codingSystem": "ICD-10-CM"},
    ]
    assert about["sameAs"] == ["http://id.nlm.nih.gov/mesh/D009120"]  # the broad ICD code is not
    # stated as fact -> structured; the hypothesis (baclofen) and the dispute are not
    assert about["possibleTreatment"] == [
        {"@type": "MedicalTherapy", "name": "Stretching the cramping muscle"}
    ]
    assert about["primaryPrevention"] == [
        {"@type": ["MedicalTherapy", "LifestyleModification"], "name": "Calf stretch"}
    ]
    assert about["signOrSymptom"] == [{"@type": "MedicalSignOrSymptom", "name": "Pain"}]
    assert "riskFactor" not in about and "cause" not in about
    assert about["pathophysiology"] == [
        "Disputed (disputed by Example Health, \u201cLeg cramps explained\u201d): "
        "Dehydration as a cause of muscle cramp."
    ]
    assert minimal["medicalAudience"] == {"@type": "MedicalAudience", "audienceType": "Patients"}
    assert "lastReviewed" not in minimal  # never invented
    assert minimal["citation"][0]["sameAs"] == "https://doi.org/10.1234/jtm.2018.1"
    assert minimal["isBasedOn"][0]["@id"] == "https://example.org/kg/source/test-article"


def test_all_corpus_markup_is_valid(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    for policy in ({}, {"mentions": "word", "min_sources": 2, "last_reviewed": "2025-09-01"}):
        docs = _markup(corpus, **policy)
        assert len(docs) >= 10
        for cid, doc in docs.items():
            assert check_markup(doc, vocabulary()) == [], cid


def test_reader_comments_never_appear(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    c, duplicates = corpus
    comments = [cl for cl in c.claims.values() if c.sources[cl.source].kind == "reader-comments"]
    assert len(comments) > 50
    elsewhere = {ev.quote for cl in c.claims.values() if cl not in comments for ev in cl.evidence}
    texts = _all_text(_markup(corpus, mentions="word"))
    views = condition_views(c, duplicates, InclusionPolicy(mentions="word"))
    shown = {sc.claim.id for v in views for r in v.relations() for sc in r.claims}
    for claim in comments:
        assert claim.id not in shown
        for ev in claim.evidence:
            if ev.quote not in elsewhere:
                assert ev.quote not in texts
    # what only the comments say (calcium prevents leg cramps, ...) is nowhere
    targets = {(v.entity.id, r.target.id) for v in views for r in v.relations() if r.target}
    assert ("leg-cramp", "calcium-supplement") not in targets
    assert ("muscle-cramp", "pickle-juice") not in targets


def test_copies_appear_only_when_an_independent_source_agrees(
    corpus: tuple[Corpus, list[Duplicate]],
) -> None:
    c, duplicates = corpus
    copy = "healthboard-copy"
    assert copy in {d.copy for d in duplicates}
    by_relation: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for cl in c.claims.values():
        predicate = "has-cause" if cl.predicate == "has-mechanism" else cl.predicate
        by_relation[(cl.subject, predicate, cl.object or "", cl.value or "")].append(cl)
    independent = {
        s.id for s in c.sources.values() if s.kind not in ("reader-comments", "republished-copy")
    }
    copy_only = {
        key
        for key, claims in by_relation.items()
        if any(cl.source == copy for cl in claims)
        and not any(cl.source in independent for cl in claims)
        and c.entities[key[0]].type == "condition"
    }
    assert copy_only, "the corpus has relations only the copy makes"
    views = condition_views(c, duplicates, InclusionPolicy(mentions="word"))
    copies_shown = 0
    for view in views:
        for rel in view.relations():
            pred = "has-cause" if rel.predicate == "has-mechanism" else rel.predicate
            key = (rel.subject.id, pred, rel.target.id if rel.target else "", rel.value or "")
            assert key not in copy_only
            agreeing = {sc.claim.stance for sc in rel.claims if sc.independent}
            for sc in rel.claims:
                if sc.source.id == copy:
                    copies_shown += 1
                    assert not sc.independent and sc.claim.stance in agreeing
    assert copies_shown > 0
    hidden = condition_views(c, duplicates, InclusionPolicy(show_corroborated_copies=False))
    assert all(sc.independent for v in hidden for r in v.relations() for sc in r.claims)


def test_nothing_contested_is_structured(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    c, duplicates = corpus
    docs = _markup(corpus)
    views = {v.entity.id: v for v in condition_views(c, duplicates, DEFAULT_POLICY)}
    for cid, doc in docs.items():
        about = doc["about"]
        status = {
            (r.predicate, r.target.label): r.status for r in views[cid].relations() if r.target
        }
        for prop, predicate in (
            ("cause", "has-cause"),
            ("riskFactor", "has-risk-factor"),
            ("possibleTreatment", "has-treatment"),
            ("primaryPrevention", "has-prevention"),
            ("signOrSymptom", "has-symptom"),
            ("associatedAnatomy", "affects-anatomy"),
        ):
            for name in _names(about, prop):
                assert status[(predicate, name)] == "supported", (cid, prop, name)
        for text in about.get("pathophysiology", []):
            assert text.startswith(("Disputed (", "Hypothesis (", "Reported ("))
    cramp = docs["muscle-cramp"]["about"]
    # dehydration as a cause is disputed by three independent sources: worded, not structured
    assert "Dehydration" not in _names(cramp, "cause")
    assert any(
        t.startswith("Disputed (") and "Dehydration as a cause of muscle cramp" in t
        for t in cramp["pathophysiology"]
    )
    assert "Baclofen" not in _all_text(cramp.get("possibleTreatment", []))  # only proposed
    assert {"Massage", "Stretching the cramping muscle"} <= set(_names(cramp, "possibleTreatment"))


def test_policy_can_leave_contested_claims_out(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    c, duplicates = corpus
    policy = InclusionPolicy(hypotheses="omit", disputes="omit")
    docs = _markup(corpus, hypotheses="omit", disputes="omit")
    assert not any("pathophysiology" in d["about"] for d in docs.values())
    statuses = {r.status for v in condition_views(c, duplicates, policy) for r in v.relations()}
    assert statuses == {"supported"}
    # omitted disputes do not turn into support
    assert "Dehydration" not in _names(docs["muscle-cramp"]["about"], "cause")


def test_min_sources_words_thinly_supported_relations(
    corpus: tuple[Corpus, list[Duplicate]],
) -> None:
    strict = _markup(corpus, min_sources=2)["muscle-cramp"]["about"]
    default = _markup(corpus)["muscle-cramp"]["about"]
    assert len(_names(strict, "cause")) < len(_names(default, "cause"))
    assert "Hypokalemia" in _names(default, "cause")
    assert any(
        t.startswith("Reported (Dr.Oracle") and "Hypokalemia" in t
        for t in strict["pathophysiology"]
    )


def test_population_specific_support(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    default = _markup(corpus)["muscle-cramp"]["about"]
    diuretics = next(n for n in default["riskFactor"] if n["name"] == "Diuretic use")
    assert diuretics["description"] == (
        "Stated for: patients on diuretic treatment for conditions like ascites"
    )
    omitted = _markup(corpus, population_specific="omit")["muscle-cramp"]["about"]
    assert "Diuretic use" not in _names(omitted, "riskFactor")
    assert "Exercising in heat" in _names(omitted, "riskFactor")


def test_mentions_are_worded_only_when_asked(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    c, duplicates = corpus
    assert not any(
        r.status == "mentioned"
        for v in condition_views(c, duplicates, DEFAULT_POLICY)
        for r in v.relations()
    )
    views = condition_views(c, duplicates, InclusionPolicy(mentions="word"))
    mentioned = [r for v in views for r in v.relations() if r.status == "mentioned"]
    assert mentioned and all(r.wording.startswith("Mentioned (") for r in mentioned)


def test_supported_dose_is_a_dose_schedule(minimal_copy: Path) -> None:
    claims = minimal_copy / "claims" / "test-article.yaml"
    text = claims.read_text()
    claims.write_text(
        text.replace(
            "    stance: hypothesis\n    population: some",
            "    stance: supports\n    population: some",
        )
    )
    result = run_pipeline(minimal_copy, validate=False)
    assert result.report.conforms, result.report.to_text()
    doc = json.loads(result.files["schemaorg/muscle-cramp.jsonld"])
    baclofen = next(n for n in doc["about"]["possibleTreatment"] if n["name"] == "Baclofen")
    assert baclofen == {
        "@type": "Drug",
        "name": "Baclofen",
        "description": "Stated for: some patients",
        "doseSchedule": [
            {
                "@type": "DoseSchedule",
                "doseValue": 10,
                "doseUnit": "mg/day",
                "description": "starting dose",
                "targetPopulation": "some patients",
            }
        ],
    }
    assert check_markup(doc, vocabulary()) == []
    assert invisible_values(doc, result.files["site/muscle-cramp.html"].decode()) == []


def test_last_reviewed_and_site_url(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    doc = _markup(
        corpus,
        last_reviewed="2025-09-01",
        reviewed_by="Dr. Ada Editor",
        site_url="https://example.org/cramps/",
        audience="clinician",
    )["muscle-cramp"]
    assert doc["lastReviewed"] == "2025-09-01"
    assert doc["reviewedBy"] == {"@type": "Person", "name": "Dr. Ada Editor"}
    assert doc["@id"] == doc["url"] == "https://example.org/cramps/muscle-cramp.html"
    assert doc["medicalAudience"]["audienceType"] == "Clinicians"
    assert check_markup(doc, vocabulary()) == []


def test_markup_expands_to_schema_org_terms_without_fetching(
    minimal: dict[str, Any], no_network: list[str]
) -> None:
    """A JSON-LD processor reading the markup with the vendored context (never the remote one)
    sees only schema.org terms, IRIs where we meant links and a typed date."""
    from pyld import jsonld

    ctx = context_document()

    def loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        assert url.rstrip("/") in ("https://schema.org", "http://schema.org"), url
        return {"contextUrl": None, "documentUrl": url, "document": ctx}

    doc = {**minimal, "lastReviewed": "2025-09-01"}
    expanded = jsonld.expand(doc, {"documentLoader": loader})
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if not key.startswith("@"):
                    seen.add(key)
                walk(value)

    walk(expanded)
    assert seen and all(k.startswith("http://schema.org/") for k in seen)
    names = {k.removeprefix("http://schema.org/") for k in seen}
    assert names <= vocabulary().properties
    page = expanded[0]
    assert page["http://schema.org/lastReviewed"] == [
        {"@type": "http://schema.org/Date", "@value": "2025-09-01"}
    ]
    about = page["http://schema.org/about"][0]
    assert about["http://schema.org/sameAs"] == [{"@id": "http://id.nlm.nih.gov/mesh/D009120"}]
    assert no_network == []


def test_invalid_markup_fails_the_build(
    minimal_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.exporters.schemaorg as exporter

    real = exporter.page_markup

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = real(*args, **kwargs)
        doc["about"]["cause"] = "dehydration"  # text where a MedicalCause is expected
        return doc

    monkeypatch.setattr(exporter, "page_markup", broken)
    out = tmp_path / "dist"
    result = build(minimal_copy, out)
    assert result.report.exit_code() == 1
    problem = next(p for p in result.report.problems if p.rule == "markup-range")
    assert "schemaorg/muscle-cramp.jsonld, $.about.cause" in problem.message
    assert problem.location and problem.location.file.endswith("entities/entities.yaml")
    assert not out.exists()


# --- the policy itself ----------------------------------------------------------------------


def test_policy_from_toml_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "markup.toml"
    path.write_text(
        '[markup]\nmin_sources = 2\nhypotheses = "omit"\ncode_matches = ["exact"]\n'
        'last_reviewed = "2025-09-01"\n'
    )
    policy = load_policy(path, ["mentions=word", "show_corroborated_copies=false"])
    assert policy == dataclasses.replace(
        DEFAULT_POLICY,
        min_sources=2,
        hypotheses="omit",
        code_matches=("exact",),
        last_reviewed="2025-09-01",
        mentions="word",
        show_corroborated_copies=False,
    )
    top_level = tmp_path / "flat.toml"
    top_level.write_text('audience = "clinician"\n')
    assert load_policy(top_level).audience == "clinician"
    assert load_policy() == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('hypotheses = "hide"', "hypotheses: 'hide' is not one of word, omit"),
        ("min_sources = 0", "min_sources must be at least 1"),
        ('min_sources = "2"', "min_sources must be a whole number"),
        ('last_reviewed = "2025-02-30"', "last_reviewed must be a date"),
        ('site_url = "example.org"', "site_url must be an absolute"),
        ('code_matches = ["exactly"]', "code_matches: 'exactly' is not one of"),
        ("shout = true", "unknown policy field(s) shout"),
        ("show_corroborated_copies = 1", "show_corroborated_copies must be true or false"),
        ("[markup", "cannot read the markup policy"),
    ],
)
def test_bad_policies_name_the_field(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "markup.toml"
    path.write_text(toml + "\n")
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_policy(path)


def test_every_policy_field_is_documented() -> None:
    doc = (ROOT / "docs" / "markup.md").read_text()
    for f in dataclasses.fields(InclusionPolicy):
        assert f"| `{f.name}` |" in doc, f.name


def test_views_are_deterministic(corpus: tuple[Corpus, list[Duplicate]]) -> None:
    c, duplicates = corpus
    first = _markup(corpus)
    shuffled = dict(reversed(list(c.claims.items())))
    again = {
        v.entity.id: page_markup(
            v, vocabulary(), DEFAULT_POLICY, c.dataset.base if c.dataset else ""
        )
        for v in condition_views(
            dataclasses.replace(c, claims=shuffled), duplicates, DEFAULT_POLICY
        )
    }
    assert json.dumps(first) == json.dumps(again)


def test_hostile_fixture_is_a_copy_of_minimal() -> None:
    hostile = ROOT / "tests" / "fixtures" / "hostile"
    assert sorted(p.relative_to(hostile) for p in hostile.rglob("*") if p.is_file()) == sorted(
        p.relative_to(MINIMAL) for p in MINIMAL.rglob("*") if p.is_file()
    )
    assert (hostile / "sources" / "article.txt").read_bytes() == (
        MINIMAL / "sources" / "article.txt"
    ).read_bytes()
