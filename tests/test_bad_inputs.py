"""Each bad input, named after the rule it breaks: the rule, the file, the line, the message.

Every case copies the minimal corpus, makes one edit, and runs the pipeline's checks
(`crampkg validate` without the CLI). The expected line is the first line of the edited file
that contains `at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.build import run_pipeline
from pipeline.report import Severity


@dataclass(frozen=True)
class Case:
    rule: str
    file: str
    old: str
    new: str
    at: str  # text on the line the problem must be reported at
    message: str  # part of the message
    exit_code: int = 1


CASES = {
    "malformed-yaml": Case(
        "yaml-syntax",
        "claims/test-article.yaml",
        "    stance: hypothesis\n",
        "    stance: [hypothesis\n",
        "evidence:",
        "not valid YAML",
        2,
    ),
    "tab-indentation": Case(
        "yaml-syntax",
        "entities/entities.yaml",
        "  - id: pain\n",
        "\t- id: pain\n",
        "- id: pain",
        "tab",
        2,
    ),
    "duplicate-key": Case(
        "yaml-duplicate-key",
        "entities/entities.yaml",
        "    label: Pain\n",
        "    label: Pain\n    label: Ache\n",
        "label: Ache",
        "appears twice",
        2,
    ),
    "yaml11-boolean-no": Case(
        "yaml-1.1-value",
        "sources/article.yaml",
        "    peerReviewed: true\n",
        "    peerReviewed: no\n",
        "peerReviewed: no",
        "quotes",
        2,
    ),
    "yaml11-version-float": Case(
        "wrong-type", "dataset.yaml", 'version: "1.0.0"', "version: 1.10", "version: 1.10", '"1.10"'
    ),
    "impossible-date": Case(
        "bad-format",
        "sources/article.yaml",
        '"2024-03-03"',
        '"2024-02-30"',
        "published:",
        "calendar date",
    ),
    "python-tag": Case(
        "yaml-tag",
        "entities/entities.yaml",
        "    label: Pain\n",
        "    label: !!python/object/apply:os.system ['true']\n",
        "label: !!python",
        "not allowed",
        2,
    ),
    "unknown-id": Case(
        "unknown-id",
        "claims/test-article.yaml",
        "object: muscle-fatigue",
        "object: muscle-fatige",
        "object: muscle-fatige",
        "does not exist",
    ),
    "duplicate-id": Case(
        "duplicate-id",
        "entities/entities.yaml",
        "  - id: pain\n",
        "  - id: baclofen\n",
        "- id: baclofen\n    type: symptom",
        "already used",
    ),
    "dangling-broader": Case(
        "unknown-id",
        "entities/entities.yaml",
        "    label: Dehydration\n",
        "    label: Dehydration\n    broader: [fluid-loss]\n",
        "broader: [fluid-loss]",
        "does not exist",
    ),
    "missing-quote": Case(
        "missing-field",
        "claims/test-article.yaml",
        '      - quote: "Gently stretch the cramping muscle."\n',
        "      - markers: []\n",
        "- markers: []",
        "`quote`",
    ),
    "quote-not-in-source": Case(
        "quote-not-found",
        "claims/test-article.yaml",
        "Gently stretch the cramping muscle.",
        "Gently stretch the aching muscle.",
        "aching muscle",
        "not in the text",
    ),
    "quote-ambiguous": Case(
        "quote-ambiguous",
        "claims/test-article.yaml",
        '        prefix: "Stretch the calf."\n',
        "",
        'quote: "Stretch the calf."',
        "occurs 2 times",
    ),
    "bad-code-pattern": Case(
        "bad-code-pattern",
        "entities/entities.yaml",
        "code: D009120",
        "code: X12",
        "code: X12",
        "not a valid MeSH code",
    ),
    "wrong-type": Case(
        "wrong-type",
        "claims/test-article.yaml",
        "object: stretching",
        "object: pain",
        "object: pain",
        "needs a treatment or drug",
    ),
    "bad-stance": Case(
        "not-in-list",
        "claims/test-article.yaml",
        "stance: supports",
        "stance: maybe",
        "stance: maybe",
        "must be one of",
    ),
    "unknown-field": Case(
        "unknown-field",
        "claims/test-article.yaml",
        "    stance: disputes",
        "    stance: disputes\n    strength: high",
        "strength: high",
        "unknown field `strength`",
    ),
    "bad-identifier": Case(
        "bad-format",
        "entities/entities.yaml",
        "  - id: pain\n",
        "  - id: Pain Point\n",
        "- id: Pain Point",
        "not a valid identifier",
    ),
    "object-and-value": Case(
        "object-or-value",
        "claims/test-article.yaml",
        "    value: Cramps come on suddenly.\n",
        "    value: Cramps come on suddenly.\n    object: pain\n",
        "- id: t-sudden",
        "either `object`",
    ),
    "literal-predicate-with-object": Case(
        "literal-predicate",
        "claims/test-article.yaml",
        "    value: Cramps come on suddenly.\n",
        "    object: pain\n",
        "object: pain\n    stance: supports\n    evidence:\n"
        '      - quote: "Muscle cramps are sudden"',
        "takes a `value`",
    ),
    "dose-without-unit": Case(
        "missing-field",
        "claims/test-article.yaml",
        "dose: {value: 10, unit: mg/day, qualifier: starting dose}",
        "dose: {value: 10}",
        "dose: {value: 10}",
        "`unit`",
    ),
    "snapshot-changed": Case(
        "snapshot-changed",
        "sources/article.txt",
        "Gently stretch",
        "Gently massage",
        "sha256:",
        "has changed",
    ),
    "unresolved-candidate": Case(
        "unknown-id",
        "sources/article.yaml",
        "candidates: [ref-test-fatigue]",
        "candidates: [ref-nowhere]",
        "candidates: [ref-nowhere]",
        "does not exist",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, minimal_copy: Path) -> None:
    case = CASES[name]
    path = minimal_copy / case.file
    text = path.read_text("utf-8")
    assert case.old in text, f"the fixture no longer contains {case.old!r}"
    path.write_text(text.replace(case.old, case.new, 1), "utf-8")
    report_file = case.file
    if case.file.endswith(".txt"):
        report_file = "sources/article.yaml"
    edited = (minimal_copy / report_file).read_text("utf-8")
    assert case.at in edited, f"{case.at!r} not found in the edited {report_file}"
    line = edited[: edited.index(case.at)].count("\n") + 1

    result = run_pipeline(minimal_copy, export=False, validate=False)
    report = result.report
    matching = [p for p in report.problems if p.rule == case.rule]
    assert matching, f"expected rule {case.rule}, got: {report.to_text()}"
    p = matching[0]
    assert p.severity is Severity.VIOLATION
    assert p.location is not None
    assert p.location.file == f"data/{report_file}"
    assert p.location.line == line, report.to_text()
    assert case.message in p.message
    assert report.exit_code() == case.exit_code


def test_minimal_corpus_is_clean(minimal_copy: Path) -> None:
    report = run_pipeline(minimal_copy, export=False).report
    assert report.conforms, report.to_text()
    assert report.exit_code() == 0


def test_missing_data_folder(tmp_path: Path) -> None:
    report = run_pipeline(tmp_path / "nope", export=False).report
    assert report.exit_code() == 2
    assert report.problems[0].rule == "data-folder-missing"
