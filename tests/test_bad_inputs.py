"""Each bad input, named after the rule it breaks: the rule, the file, the line, the message.

Every case copies the minimal corpus, makes one edit, and runs the pipeline's checks
(`crampkg validate` without the CLI). The expected line is the first line of the edited file
that contains `at`.
"""

from __future__ import annotations

import json
import re
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
    "snapshot-outside-data": Case(
        "snapshot-outside-data",
        "sources/article.yaml",
        "text: article.txt",
        "text: ../../../../../../../../etc/passwd",
        "text: ../",
        "outside the data folder",
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


# ------------------------------------------------------------------ issue 9, case 3
# Values that become IRIs, language tags or typed literals are refused before the graph is
# built, with the field named (its YAML key path, or for schema errors its key) and its line.

IRI_FIELDS = {  # key path -> (file, text replaced, replacement with {v} for the value)
    "dataset.base": ("dataset.yaml", "  base: https://example.org/kg/\n", "  base: {v}\n"),
    "dataset.license": (
        "dataset.yaml",
        "  license: https://creativecommons.org/licenses/by/4.0/\n",
        "  license: {v}\n",
    ),
    "source.url": ("sources/article.yaml", "  language: en\n", "  language: en\n  url: {v}\n"),
    "references[0].url": (
        "sources/article.yaml",
        "    kind: journal-article\n",
        "    kind: journal-article\n    url: {v}\n",
    ),
}

BAD_IRIS = {  # case -> (value, part of the message); each is tried as source.url
    "space": ("https://example.org/a b", "contains a space"),
    "less-than": ("https://example.org/<script>", "contains `<`"),
    "greater-than": ("https://example.org/a>b", "contains `>`"),
    "double-quote": ('https://example.org/"onmouseover="x', 'contains `"`'),
    "backslash": ("https://example.org/a\\b", "contains `\\`"),
    "curly-brace": ("https://example.org/{id}", "contains `{`"),
    "newline": ("https://example.org/a\nb", "control character"),
    "javascript-scheme": ("javascript:alert(1)", "only http and https IRIs are allowed"),
    "javascript-scheme-mixed-case": ("JaVaScRiPt:alert(1)", "only http and https"),
    "data-scheme": ("data:text/html,<script>alert(1)</script>", "only http and https"),
    "file-scheme": ("file:///etc/passwd", "only http and https"),
    "relative-path": ("/path/page.html", "relative address"),
    "relative-dot": ("./page.html", "relative address"),
    "relative-no-scheme": ("example.org/x", "write the full address, like https://example.org/x"),
    "scheme-relative": ("//example.org/x", "write https://example.org/x"),
    "bad-percent-escape": ("https://example.org/%zz", "`%zz`, which is not a percent-escape"),
    "truncated-percent-escape": ("https://example.org/100%", "not a percent-escape"),
    "right-to-left-override": ("https://example.org/\u202egnp.exe", "U+202E"),
    "user-and-password": ("https://trusted.example@evil.example/", "user name or password"),
    "no-host": ("https:///path", "no host name"),
    "leading-space": (" https://example.org/", "space at the start or end"),
}


def _edit(data: Path, file: str, old: str, new: str) -> int:
    path = data / file
    text = path.read_text("utf-8")
    assert old in text, f"the fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return text[: text.index(old)].count("\n") + 1 + new.rstrip("\n").count("\n")


def _refused_before_graph(data: Path, rule: str, file: str, line: int) -> str:
    """Run the whole pipeline; the problem must stop it before the graph. Returns the message."""
    result = run_pipeline(data)
    assert result.graph is None and not result.files  # stopped before the graph stage
    report = result.report
    hits = [p for p in report.problems if p.rule == rule]
    assert hits, report.to_text()
    p = hits[0]
    assert p.severity is Severity.VIOLATION and p.stage.value == "schema"
    assert p.location is not None
    assert (p.location.file, p.location.line) == (f"data/{file}", line), report.to_text()
    assert report.exit_code() == 1
    return p.message


@pytest.mark.parametrize("case", sorted(BAD_IRIS))
def test_bad_iri_refused(case: str, minimal_copy: Path) -> None:
    value, reason = BAD_IRIS[case]
    file, old, new = IRI_FIELDS["source.url"]
    line = _edit(minimal_copy, file, old, new.format(v=json.dumps(value)))
    message = _refused_before_graph(minimal_copy, "bad-iri", file, line)
    assert message.startswith("source.url: `"), message
    assert reason in message, message


@pytest.mark.parametrize("field", sorted(IRI_FIELDS))
def test_bad_iri_field_named(field: str, minimal_copy: Path) -> None:
    file, old, new = IRI_FIELDS[field]
    line = _edit(minimal_copy, file, old, new.format(v="javascript:alert(1)"))
    message = _refused_before_graph(minimal_copy, "bad-iri", file, line)
    assert message == (
        f"{field}: `javascript:alert(1)` is not a web address (it uses `javascript:`): "
        "only http and https IRIs are allowed"
    )


@pytest.mark.parametrize("value", ["https://example.org/kg", "https://example.org/kg/?x="])
def test_base_that_cannot_mint_refused(value: str, minimal_copy: Path) -> None:
    file, old, new = IRI_FIELDS["dataset.base"]
    line = _edit(minimal_copy, file, old, new.format(v=json.dumps(value)))
    message = _refused_before_graph(minimal_copy, "bad-iri", file, line)
    assert message.startswith("dataset.base: ") and "must end with `/` or `#`" in message


BAD_LANGUAGE_TAGS = {
    "underscore": ("en_US", "use hyphens: `en-US`"),
    "word": ("english", "ISO 639 language code of 2 or 3 letters"),
    "one-letter": ("e", "not a well-formed BCP 47 language tag"),
    "empty-subtag": ("en--us", "empty part"),
    "trailing-hyphen": ("en-", "empty part"),
    "x-alone": ("x", "not a well-formed"),
    "private-use-only": ("x-klingon", "private-use tag"),
    "subtag-over-8": ("en-abcdefghi", "longer than the 8 characters"),
    "tag-over-35": ("en-Latn-US-valencia-1996-a-bbbbbbbb-x-cccccccc", "at most 35"),
    "digits": ("123", "not a well-formed"),
    "repeated-variant": ("de-1901-1901", "repeats a variant"),
    "grandfathered-irregular": ("i-klingon", "grandfathered"),
    "region-twice": ("en-US-US", "not a well-formed"),
}


@pytest.mark.parametrize("case", sorted(BAD_LANGUAGE_TAGS))
def test_bad_language_tag_refused(case: str, minimal_copy: Path) -> None:
    value, reason = BAD_LANGUAGE_TAGS[case]
    line = _edit(
        minimal_copy,
        "sources/article.yaml",
        "  language: en\n",
        f"  language: {json.dumps(value)}\n",
    )
    message = _refused_before_graph(minimal_copy, "bad-language-tag", "sources/article.yaml", line)
    assert message.startswith(f"source.language: `{value}` "), message
    assert reason in message, message


ILL_TYPED = {  # case -> (file, old, new, rule, key named in the message)
    "date-not-on-calendar": (
        "sources/article.yaml",
        '"2024-03-03"',
        '"2023-02-29"',
        "bad-format",
        "published",
    ),
    "date-month-13": (
        "sources/article.yaml",
        '"2024-03-03"',
        '"2024-13-01"',
        "bad-format",
        "published",
    ),
    "date-in-words": (
        "sources/article.yaml",
        '"2024-03-03"',
        '"3 March 2024"',
        "bad-format",
        "published",
    ),
    "dose-number-as-string": (
        "claims/test-article.yaml",
        "value: 10,",
        'value: "10",',
        "wrong-type",
        "value",
    ),
    "dose-not-a-number": (
        "claims/test-article.yaml",
        "value: 10,",
        "value: ten,",
        "wrong-type",
        "value",
    ),
    "dose-negative": (
        "claims/test-article.yaml",
        "value: 10,",
        "value: -5,",
        "schema-exclusiveMinimum",
        "value",
    ),
    "dose-zero": (
        "claims/test-article.yaml",
        "value: 10,",
        "value: 0,",
        "schema-exclusiveMinimum",
        "value",
    ),
    "dose-infinite": (
        "claims/test-article.yaml",
        "value: 10,",
        "value: 1.0e+400,",
        "schema-maximum",
        "value",
    ),
    "dose-huge-integer": (
        "claims/test-article.yaml",
        "value: 10,",
        "value: 1" + "0" * 12 + ",",
        "schema-maximum",
        "value",
    ),
    "year-as-string": (
        "sources/article.yaml",
        "year: 2018",
        'year: "2018"',
        "wrong-type",
        "year",
    ),
    "year-fraction": ("sources/article.yaml", "year: 2018", "year: 2018.5", "wrong-type", "year"),
    "year-out-of-range": (
        "sources/article.yaml",
        "year: 2018",
        "year: 18",
        "schema-minimum",
        "year",
    ),
    "boolean-as-string": (
        "sources/article.yaml",
        "peerReviewed: true",
        'peerReviewed: "yes"',
        "wrong-type",
        "peerReviewed",
    ),
    "checksum-not-hex": (
        "sources/article.yaml",
        "sha256: 4de99f",
        "sha256: 4DE99F",
        "bad-format",
        "sha256",
    ),
}


@pytest.mark.parametrize("case", sorted(ILL_TYPED))
def test_ill_typed_literal_refused(case: str, minimal_copy: Path) -> None:
    file, old, new, rule, key = ILL_TYPED[case]
    line = _edit(minimal_copy, file, old, new)
    message = _refused_before_graph(minimal_copy, rule, file, line)
    assert re.search(rf"`([\w.\[\]]+\.)?{key}`", message), message  # `year` or `references[0].year`
