"""The vendored schema.org release, the checks built on it, and `crampkg vocab update`."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import responses

from pipeline.cli import main
from pipeline.markup.schemaorg_check import check_markup
from pipeline.markup.schemaorg_vocab import (
    RELEASE_FILES,
    clear_cache,
    context_document,
    load_vocabulary,
    pinned_version,
    release_dir,
    vocabulary,
)
from pipeline.markup.vendor import RELEASE_URL
from pipeline.resources import schemaorg_root
from tests.conftest import ROOT

VENDORED = ROOT / "vendor" / "schemaorg" / "30.0"


def test_the_release_is_vendored_with_its_licence() -> None:
    assert schemaorg_root() == ROOT / "vendor" / "schemaorg"
    assert pinned_version() == "30.0"
    assert release_dir() == VENDORED
    for name in RELEASE_FILES:
        assert (VENDORED / name).stat().st_size > 100_000
    readme = (VENDORED / "README.md").read_text()
    assert "Creative Commons Attribution-ShareAlike License (version 3.0)" in readme
    assert "creativecommons.org/licenses/by-sa/3.0" in readme


def test_vocabulary_tables() -> None:
    v = vocabulary()
    assert v.version == "30.0"
    assert {"MedicalCondition", "MedicalWebPage", "MedicalCause", "Muscle"} <= v.classes
    # https://schema.org/ in the Turtle and http://schema.org/ in the context meet as local names
    assert v.term("lastReviewed").coerce == "Date"
    assert v.term("sameAs").coerce == "@id"
    assert v.term("http://schema.org/name").name == v.term("schema:name").name == "name"
    assert v.ranges["possibleTreatment"] == {
        "Drug",
        "DrugClass",
        "LifestyleModification",
        "MedicalTherapy",
    }
    assert v.ranges["primaryPrevention"] == {"MedicalTherapy"}
    assert "MedicalCondition" in v.domains["cause"]
    assert {"Artery", "Vessel", "AnatomicalStructure", "Thing"} <= v.ancestors["Artery"]
    assert {"Text", "URL", "Date", "Number", "Integer", "Boolean"} <= v.datatypes
    assert "Text" in v.ancestors["URL"]
    assert "MedicalCondition" not in v.datatypes
    assert v.superseded["actors"] == "actor"
    assert v.members["Clinician"] == {"MedicalAudienceType"}


def test_vocabulary_is_loaded_once_per_process(no_network: list[str]) -> None:
    clear_cache()
    start = time.perf_counter()
    first = vocabulary()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    assert vocabulary() is first
    assert time.perf_counter() - start < loaded / 10
    assert loaded < 5, f"loading the vocabulary took {loaded:.1f} s"
    assert no_network == []


def _page(**about: Any) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "about": {"@type": "MedicalCondition", "name": "Muscle cramp", **about},
    }


def test_valid_markup_passes() -> None:
    doc = _page(
        cause=[{"@type": "MedicalCause", "name": "Fatigue"}],
        possibleTreatment=[{"@type": "Drug", "name": "Baclofen"}],
        primaryPrevention={"@type": ["MedicalTherapy", "PhysicalActivity"], "name": "Warm-up"},
        associatedAnatomy={"@type": "Muscle", "name": "Calf"},
        code={"@type": "MedicalCode", "codeValue": "D009120", "codingSystem": "MeSH"},
        sameAs="http://id.nlm.nih.gov/mesh/D009120",
        pathophysiology="Hypothesis (X): fatigue.",
    )
    doc.update(
        lastReviewed="2024-03-03",
        medicalAudience=[
            {"@type": "MedicalAudience", "audienceType": "Patients"},
            {"@id": "https://schema.org/Clinician"},  # an enumeration member
        ],
        citation={"@type": "ScholarlyArticle", "name": "A", "datePublished": "2018"},
    )
    assert check_markup(doc, vocabulary()) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"@type": "MedicalConditon"}, "markup-unknown-type"),
        ({"@type": "Text"}, "markup-unknown-type"),  # a data type is not a node type
        ({"@type": "Code"}, "markup-superseded-type"),
        ({"causes": "x"}, "markup-unknown-property"),
        ({"actors": {"@type": "Person", "name": "A"}}, "markup-superseded-property"),
        ({"lastReviewed": "2024-03-03"}, "markup-domain"),  # a WebPage property
        ({"cause": "dehydration"}, "markup-range"),  # text where a MedicalCause is expected
        ({"cause": {"@type": "Drug", "name": "x"}}, "markup-range"),
        ({"name": 3}, "markup-range"),
        ({"name": ""}, "markup-empty-text"),
        ({"sameAs": "not a url"}, "markup-url-format"),
        ({"@id": "entity/x"}, "markup-bad-id"),
        ({"cause": {"name": "untyped"}}, "markup-untyped-node"),
        ({"cause": [["nested"]]}, "markup-nested-list"),
    ],
)
def test_invalid_condition_is_reported(change: dict[str, Any], rule: str) -> None:
    doc = _page()
    doc["about"].update(change)
    issues = check_markup(doc, vocabulary())
    assert rule in {i.rule for i in issues}, issues
    assert all(i.path.startswith("$.about") for i in issues)


@pytest.mark.parametrize("date", ["03/03/2024", "2024-02-30", "2024-13", "24-01-01", ""])
def test_dates_must_be_iso_8601(date: str) -> None:
    doc = _page()
    doc["lastReviewed"] = date
    assert [i.rule for i in check_markup(doc, vocabulary())] == ["markup-date-format"]


def test_context_must_be_schema_org() -> None:
    doc = _page()
    doc["@context"] = "http://example.org/context"
    assert [i.rule for i in check_markup(doc, vocabulary())] == ["markup-context"]


def test_context_document_is_the_vendored_one(no_network: list[str]) -> None:
    ctx = context_document()["@context"]
    assert ctx["@vocab"] == "http://schema.org/"
    assert no_network == []


def test_the_checker_reads_the_official_examples() -> None:
    """Our term and type resolution agrees with schema.org's own JSON-LD examples: apart from
    three mistakes in the examples themselves, nothing is unknown or out of its domain. (Many
    examples put text where a node is expected; schema.org tolerates that, our checks do not.)"""
    text = (VENDORED / "schemaorg-all-examples.txt").read_text()
    blocks = re.findall(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', text, re.S)
    assert len(blocks) > 400
    found = set()
    checked = 0
    for block in blocks:
        doc = json.loads(block)
        if not isinstance(doc, dict) or doc.get("@context") not in (
            "https://schema.org",
            "https://schema.org/",
            "http://schema.org",
            "http://schema.org/",
        ):
            continue
        checked += 1
        doc["@context"] = "https://schema.org"
        for issue in check_markup(doc, vocabulary()):
            if issue.rule in (
                "markup-unknown-type",
                "markup-unknown-property",
                "markup-domain",
                "markup-keyword",
                "markup-superseded-type",
                "markup-superseded-property",
            ):
                found.add((issue.rule, issue.message))
    assert checked > 300
    assert found == {
        ("markup-keyword", "unexpected keyword '@url'"),
        ("markup-keyword", "unexpected keyword '@reverse'"),
        ("markup-unknown-type", "'Best for the Money' is not a schema.org type"),
    }


# --- crampkg vocab update -----------------------------------------------------------------


def _serve_release(version: str, overrides: dict[str, tuple[int, bytes]] | None = None) -> None:
    """Register the vendored 30.0 files as schema.org's answers for `version`."""
    for name in RELEASE_FILES:
        status, body = (overrides or {}).get(name, (200, (VENDORED / name).read_bytes()))
        responses.add(
            responses.GET, RELEASE_URL.format(version=version, name=name), body=body, status=status
        )


@pytest.fixture
def vendor(tmp_path: Path) -> Path:
    """A copy of vendor/schemaorg/ with its 30.0 release."""
    root = tmp_path / "schemaorg"
    (root / "30.0").mkdir(parents=True)
    for name in (*RELEASE_FILES, "README.md"):
        (root / "30.0" / name).write_bytes((VENDORED / name).read_bytes())
    (root / "VERSION").write_text("30.0\n")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@responses.activate
def test_update_vendors_and_pins_a_new_release(vendor: Path) -> None:
    _serve_release("31.0")
    assert main(["vocab", "update", "--version", "31.0", "--vendor-dir", str(vendor)]) == 0
    assert (vendor / "VERSION").read_text() == "31.0\n"
    for name in RELEASE_FILES:
        assert (vendor / "31.0" / name).read_bytes() == (VENDORED / name).read_bytes()
    readme = (vendor / "31.0" / "README.md").read_text()
    assert "schema.org 31.0" in readme
    assert "CC BY-SA 3.0" in readme
    assert load_vocabulary(vendor / "31.0").classes == vocabulary().classes
    assert [c.request.url for c in responses.calls] == [
        RELEASE_URL.format(version="31.0", name=n) for n in RELEASE_FILES
    ]
    assert not [p for p in vendor.iterdir() if p.name.startswith(".") and "lock" not in p.name]


@responses.activate
def test_update_without_version_refreshes_the_pinned_release(vendor: Path) -> None:
    _serve_release("30.0")
    before = _snapshot(vendor)
    assert main(["vocab", "update", "--vendor-dir", str(vendor)]) == 0
    after = _snapshot(vendor)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == before


@responses.activate
def test_no_activate_keeps_the_pin(vendor: Path) -> None:
    _serve_release("31.0")
    args = ["vocab", "update", "--version", "31.0", "--vendor-dir", str(vendor), "--no-activate"]
    assert main(args) == 0
    assert (vendor / "31.0" / RELEASE_FILES[0]).exists()
    assert (vendor / "VERSION").read_text() == "30.0\n"


@pytest.mark.parametrize(
    "overrides",
    [
        {RELEASE_FILES[2]: (404, b"not found")},
        {RELEASE_FILES[0]: (200, b"@prefix schema: <https://schema.org/> . schema:X a")},
        {RELEASE_FILES[1]: (200, b"<html>not json</html>")},
        {RELEASE_FILES[0]: (200, b"<https://schema.org/A> a <https://schema.org/B> .")},
    ],
    ids=["missing-file", "broken-turtle", "context-not-json", "not-the-vocabulary"],
)
@responses.activate
def test_a_failed_update_changes_nothing(
    vendor: Path, overrides: dict[str, tuple[int, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    _serve_release("30.0", overrides)
    before = _snapshot(vendor)
    assert main(["vocab", "update", "--version", "30.0", "--vendor-dir", str(vendor)]) == 2
    assert "the vendored vocabulary is unchanged" in capsys.readouterr().err
    after = _snapshot(vendor)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == before


@responses.activate
def test_unreachable_schema_org_is_a_clear_error(
    vendor: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # no registered answer: `responses` refuses the connection, as a machine offline would
    assert main(["vocab", "update", "--version", "31.0", "--vendor-dir", str(vendor)]) == 2
    err = capsys.readouterr().err
    assert "cannot download https://schema.org/version/31.0/" in err
    assert not (vendor / "31.0").exists()


def test_bad_version_is_refused(vendor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vocab", "update", "--version", "../x", "--vendor-dir", str(vendor)]) == 2
    assert "not a schema.org release number" in capsys.readouterr().err


def test_vocabulary_tables_are_kept_in_the_load_cache(tmp_path: Path) -> None:
    """A build reads the release's tables from its load cache; the entry is exactly what
    parsing gives, and a changed release file is parsed again."""
    from pipeline.cache import LoadCache
    from pipeline.markup import schemaorg_vocab as sv

    cache = LoadCache(tmp_path / "cache")
    parsed = sv.load_vocabulary(sv.release_dir())
    try:
        sv.clear_cache()
        assert sv.cached_vocabulary(cache) == parsed and cache.misses == 1
        sv.clear_cache()
        assert sv.cached_vocabulary(cache) == parsed and cache.hits == 1
        assert sv.vocabulary() is sv.cached_vocabulary(cache)  # then loaded for the process
        copy = tmp_path / sv.release_dir().name
        shutil.copytree(sv.release_dir(), copy)
        with (copy / sv.CONTEXT).open("a") as fh:
            fh.write("\n")
        assert sv.cached_vocabulary(cache, copy) == sv.load_vocabulary(copy)
        assert cache.misses == 2
    finally:
        sv.clear_cache()
