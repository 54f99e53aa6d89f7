"""Source triage on the real corpus and on small synthetic cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.build import BuildResult, run_pipeline
from pipeline.cli import main
from pipeline.quotes import NormalisedText
from pipeline.triage import sentences
from tests.conftest import DATA


@pytest.fixture(scope="module")
def corpus_result() -> BuildResult:
    return run_pipeline(DATA, validate=False, export=False)


def test_copy_detected_from_text(corpus_result: BuildResult) -> None:
    assert corpus_result.triage is not None
    dups = corpus_result.triage.duplicates
    assert [(d.copy, d.original) for d in dups] == [
        ("healthboard-copy", "healthboard-cramp-causes")
    ]
    assert dups[0].similarity > 0.4


def test_copy_detected_without_the_curator_flag(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    meta = data / "sources/003_cdc5c53978e09ecc.yaml"
    text = meta.read_text("utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("copyOf:"))
    meta.write_text(text.replace("kind: republished-copy", "kind: editorial-article") + "\n")
    result = run_pipeline(data, validate=False, export=False)
    assert result.triage is not None
    pairs = {frozenset((d.copy, d.original)) for d in result.triage.duplicates}
    assert pairs == {frozenset(("healthboard-copy", "healthboard-cramp-causes"))}
    warnings = [p for p in result.report.problems if p.rule == "near-duplicate"]
    assert warnings and "confirm it with `copyOf" in warnings[0].message


def test_unrelated_sources_are_not_duplicates(corpus_result: BuildResult) -> None:
    assert corpus_result.triage is not None
    involved = {s for d in corpus_result.triage.duplicates for s in (d.copy, d.original)}
    assert involved == {"healthboard-copy", "healthboard-cramp-causes"}


def test_norwegian_passage_detected(corpus_result: BuildResult) -> None:
    assert corpus_result.triage is not None
    passages = corpus_result.triage.passages
    assert [(p.source, p.language) for p in passages] == [("healthboard-copy", "no")]
    assert passages[0].excerpt.startswith("Noen eksperter tror")


def test_no_claim_quotes_the_norwegian_passage(corpus_result: BuildResult) -> None:
    assert not [p for p in corpus_result.report.problems if p.rule == "quote-in-foreign-passage"]


def test_quoting_a_foreign_passage_is_a_violation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    claims = data / "claims/healthboard-copy.yaml"
    claims.write_text(
        claims.read_text("utf-8")
        + (
            "  - id: c003-norwegian-test\n"
            "    source: healthboard-copy\n"
            "    subject: muscle-cramp\n"
            "    predicate: has-cause\n"
            "    object: dehydration\n"
            "    stance: hypothesis\n"
            "    evidence:\n"
            '      - quote: "Noen eksperter tror at dehydrering er den viktigste grunnen"\n'
        ),
        "utf-8",
    )
    result = run_pipeline(data, validate=False, export=False)
    bad = [p for p in result.report.problems if p.rule == "quote-in-foreign-passage"]
    assert len(bad) == 1
    assert bad[0].location is not None and bad[0].location.file.endswith("healthboard-copy.yaml")
    assert result.report.exit_code() == 1


def test_sentences_skip_headings_questions_and_list_intros() -> None:
    text = NormalisedText.of(
        "Possible Causes of Muscle Cramps\n\nWhat causes muscle cramps?\n"
        "Cramps are common in older adults. They often strike at night.\n"
        "Common reasons include:\n"
        "  \u2022 Overexertion: Excessive muscle use leading to fatigue 2\n"
    )
    found = [text.text[a:b] for a, b in sentences(text, [(0, len(text.text))])]
    assert found == [
        "Cramps are common in older adults.",
        "They often strike at night.",
        "\u2022 Overexertion: Excessive muscle use leading to fatigue 2",
    ]


def test_every_content_document_is_mostly_covered(corpus_result: BuildResult) -> None:
    assert corpus_result.triage is not None
    for sid, cov in corpus_result.triage.coverage.items():
        if sid == "healthboard-copy":
            continue  # its Norwegian and mistranslated sentences must stay uncovered
        assert cov.share >= 0.9, (sid, cov.uncovered)


def test_sources_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["sources", "--data", str(DATA), "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["healthboard-copy"]["copy_of"] == "healthboard-cramp-causes"
    assert rows["healthboard-cramp-causes"]["copies"] == ["healthboard-copy"]
    assert rows["healthboard-copy"]["foreign_passages"][0]["language"] == "no"
    assert all(r["claims"] > 0 for r in rows.values())
    assert rows["droracle-cramp-causes"]["stances"]["disputes"] > 0


def test_sources_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "--data", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "copy of healthboard-cramp-causes" in out
    assert "passage in language 'no'" in out
