"""Issue 9, cases 1-3: hostile YAML, YAML 1.1 surprises and IRIs, through `crampkg build`.

Each case edits one file of a copy of the minimal corpus and runs the real command (the CLI's
`main`, JSON report on stdout) over an output folder that holds a previous good build. Every
case must be refused with the rule, the file and the line, the documented exit code (2 for a
file that cannot be read safely, 1 for a schema error), within a second, and must leave the
previous `dist/` byte for byte as it was, with no staging folder left behind.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import NamedNode, RdfFormat, Triple, parse

from pipeline.cli import main
from pipeline.rdfio import to_bytes
from pipeline.values import iri_problem
from tests.conftest import MINIMAL

MARKER = "PWNED_MARKER"  # replaced by a path in the test's folder


@dataclass(frozen=True)
class Case:
    file: str  # below data/
    old: bytes  # replaced once by `new`; b"" = `new` is the whole file
    new: bytes
    at: bytes  # the problem is reported on the first line holding this
    rule: str
    exit_code: int
    message: str  # part of the message


_BOMB = b"".join(
    b"%s: &%s [%s]\n" % (name, name, b", ".join([prev] * 10))
    for name, prev in zip(
        [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"],
        [b'"lol"', b"*a", b"*b", b"*c", b"*d", b"*e", b"*f", b"*g", b"*h"],
        strict=True,
    )
)

CASE_1 = {  # tags, alias bombs, duplicate keys, tabs, BOM, invalid UTF-8
    "python-object-apply-os-system": Case(
        "entities/entities.yaml",
        b"    label: Pain\n",
        b"    label: !!python/object/apply:os.system ['touch PWNED_MARKER']\n",
        b"label: !!python",
        "yaml-tag",
        2,
        "not allowed",
    ),
    "python-object-new-subprocess": Case(
        "claims/test-article.yaml",
        b"    population: some patients\n",
        b"    population: !!python/object/new:subprocess.check_call [[touch, PWNED_MARKER]]\n",
        b"population: !!python",
        "yaml-tag",
        2,
        "not allowed",
    ),
    "python-name-tag": Case(
        "dataset.yaml",
        b"  publisher: crampkg tests\n",
        b"  publisher: !!python/name:os.system\n",
        b"publisher: !!python",
        "yaml-tag",
        2,
        "not allowed",
    ),
    "python-tag-on-a-key": Case(
        "dataset.yaml",
        b"  publisher: crampkg tests\n",
        b"  !!python/object/apply:os.system ['touch PWNED_MARKER']: x\n",
        b"!!python",
        "yaml-key",
        2,
        "plain text",
    ),
    "alias-bomb-billion-laughs": Case(
        "entities/bomb.yaml", b"", _BOMB, b"a: &a", "yaml-alias", 2, "anchor &a is not allowed"
    ),
    "duplicate-key": Case(
        "entities/entities.yaml",
        b"    label: Pain\n",
        b"    label: Pain\n    label: Ache\n",
        b"label: Ache",
        "yaml-duplicate-key",
        2,
        "appears twice",
    ),
    "tab-indentation": Case(
        "entities/entities.yaml",
        b"  - id: pain\n",
        b"\t- id: pain\n",
        b"- id: pain",
        "yaml-syntax",
        2,
        "tab",
    ),
    "byte-order-mark": Case(
        "dataset.yaml",
        b"dataset:\n",
        b"\xef\xbb\xbfdataset:\n",
        b"dataset:",
        "yaml-encoding",
        2,
        "BOM",
    ),
    "invalid-utf8": Case(
        "entities/entities.yaml",
        b"    label: Pain\n",
        b"    label: Pa\xffin\n",
        b"label: Pa",
        "yaml-encoding",
        2,
        "not valid UTF-8",
    ),
    "invalid-utf8-overlong-slash": Case(
        "entities/entities.yaml",
        b"    label: Pain\n",
        b"    label: \xc0\xaf\n",
        b"label: \xc0",
        "yaml-encoding",
        2,
        "not valid UTF-8",
    ),
}

CASE_2 = {  # YAML 1.1 surprises: never a silent False, 1.1 or a shifted date
    "yaml11-no-as-boolean": Case(
        "sources/article.yaml",
        b"    peerReviewed: true\n",
        b"    peerReviewed: no\n",
        b"peerReviewed: no",
        "yaml-1.1-value",
        2,
        'write "no" in quotes',
    ),
    "yaml11-no-as-norwegian": Case(
        "sources/article.yaml",
        b"  language: en\n",
        b"  language: no\n",
        b"language: no",
        "yaml-1.1-value",
        2,
        'write "no" in quotes',
    ),
    "yaml11-on-as-text": Case(
        "claims/test-article.yaml",
        b"    population: some patients\n",
        b"    population: on\n",
        b"population: on",
        "yaml-1.1-value",
        2,
        "boolean",
    ),
    "yaml11-1.10-version": Case(
        "dataset.yaml",
        b'  version: "1.0.0"\n',
        b"  version: 1.10\n",
        b"version: 1.10",
        "wrong-type",
        1,
        'write it in quotes: "1.10"',
    ),
    "yaml11-1.10-marker": Case(
        "sources/article.yaml",
        b'    marker: "1"\n',
        b"    marker: 1.10\n",
        b"marker: 1.10",
        "wrong-type",
        1,
        '"1.10"',
    ),
    "yaml11-2024-02-30-unquoted": Case(
        "sources/article.yaml",
        b'  published: "2024-03-03"\n',
        b"  published: 2024-02-30\n",
        b"published:",
        "bad-format",
        1,
        "'2024-02-30' is not a real calendar date",
    ),
    "yaml11-2024-02-30-quoted": Case(
        "sources/article.yaml",
        b'  published: "2024-03-03"\n',
        b'  published: "2024-02-30"\n',
        b"published:",
        "bad-format",
        1,
        "not a real calendar date",
    ),
}


@pytest.fixture(scope="module")
def previous_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good build of the minimal corpus (also warms every import, so timings are fair)."""
    root = tmp_path_factory.mktemp("previous")
    shutil.copytree(MINIMAL, root / "data")
    assert main(["build", "-q", "--data", str(root / "data"), "--out", str(root / "dist")]) == 0
    return root / "dist"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def apply(case: Case, data: Path, marker: Path) -> int:
    """Make the edit; return the 1-based line the problem must be reported on."""
    path = data / case.file
    new = case.new.replace(MARKER.encode(), str(marker).encode())
    if case.old:
        raw = path.read_bytes()
        assert case.old in raw, f"the fixture no longer contains {case.old!r}"
        raw = raw.replace(case.old, new, 1)
    else:
        raw = new
    path.write_bytes(raw)
    return raw[: raw.index(case.at)].count(b"\n") + 1


def check_refused(
    case: Case,
    minimal_copy: Path,
    previous_dist: Path,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    out = minimal_copy.parent / "dist"
    shutil.copytree(previous_dist, out)
    marker = minimal_copy.parent / "pwned"
    line = apply(case, minimal_copy, marker)
    capsys.readouterr()
    start = time.perf_counter()
    code = main(["build", "-q", "--format", "json", "--data", str(minimal_copy), "--out", str(out)])
    seconds = time.perf_counter() - start
    report = json.loads(capsys.readouterr().out)
    hits = [p for p in report["problems"] if p["rule"] == case.rule]
    assert hits, report
    problem = hits[0]
    assert problem["severity"] == "violation"
    assert problem["location"]["file"] == f"data/{case.file}"
    assert problem["location"]["line"] == line, problem
    assert case.message in problem["message"], problem["message"]
    assert code == case.exit_code
    assert seconds < 1.0, f"took {seconds:.2f} s"
    assert snapshot(out) == snapshot(previous_dist)  # the previous build, untouched
    assert not list(minimal_copy.parent.glob(".dist.*-*"))  # no staging or old folder
    return marker


@pytest.mark.parametrize("name", sorted(CASE_1))
def test_hostile_yaml_refused(
    name: str, minimal_copy: Path, previous_dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = check_refused(CASE_1[name], minimal_copy, previous_dist, capsys)
    assert not marker.exists(), "a tag was executed"


@pytest.mark.parametrize("name", sorted(CASE_2))
def test_yaml11_surprise_refused(
    name: str, minimal_copy: Path, previous_dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check_refused(CASE_2[name], minimal_copy, previous_dist, capsys)


@pytest.mark.parametrize("name", ["python-object-apply-os-system", "python-object-new-subprocess"])
def test_payloads_are_live(name: str, minimal_copy: Path) -> None:
    """The control: an unsafe loader *would* run these payloads, so the tests above can fail."""
    marker = minimal_copy.parent / "control"
    apply(CASE_1[name], minimal_copy, marker)
    yaml.unsafe_load((minimal_copy / CASE_1[name].file).read_bytes())
    assert marker.exists()


def test_alias_bomb_is_a_bomb() -> None:
    """The control: expanded, the bomb is 10^9 strings; refused, it costs microseconds."""
    events = list(yaml.parse(_BOMB))
    aliases = sum(isinstance(e, yaml.AliasEvent) for e in events)
    assert aliases == 80 and _BOMB.count(b"\n") == 9  # 9 levels of 10: 10**9 "lol" once built


def test_deep_nesting_refused(minimal_copy: Path) -> None:
    from pipeline.build import run_pipeline

    (minimal_copy / "entities/deep.yaml").write_bytes(b"entities: " + b"[" * 5000 + b"]" * 5000)
    start = time.perf_counter()
    report = run_pipeline(minimal_copy, export=False).report
    assert time.perf_counter() - start < 1.0
    assert report.exit_code() == 2
    problem = next(p for p in report.problems if p.stage.value == "read")
    assert problem.location is not None and problem.location.line == 1


def test_huge_integer_refused(minimal_copy: Path) -> None:
    from pipeline.build import run_pipeline

    (minimal_copy / "entities/huge.yaml").write_bytes(b"entities: 1" + b"0" * 5000 + b"\n")
    report = run_pipeline(minimal_copy, export=False).report
    assert report.exit_code() == 2
    problem = next(p for p in report.problems if p.stage.value == "read")
    assert problem.location is not None and problem.location.line == 1


# ------------------------------------------------------------------ case 3, in the outputs
# What `pipeline.values` accepts is always a valid IRI, written escaped-free and read back
# unchanged; what it refuses never reaches the graph (tests/test_bad_inputs.py).

_IRIREF = re.compile(rb'<([^\x00-\x20<>"{}|^`\\]*)>')
_HOSTS = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z]{2,4})?", fullmatch=True)
_CANDIDATES = st.one_of(
    st.text(max_size=40),
    st.builds(lambda host, rest: f"https://{host}/{rest}", _HOSTS, st.text(max_size=40)),
    st.builds(
        lambda host, rest: f"http://{host}/{rest}",
        _HOSTS,
        st.text(alphabet="abc%20'()!$&*+,;=:@/?#[]<>\"{}|^`\\ \u00e4\u202e\u2028", max_size=20),
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CANDIDATES)
def test_accepted_iri_round_trips_unescaped(candidate: str) -> None:
    problem = iri_problem(candidate)
    try:
        node = NamedNode(candidate)
    except ValueError:
        assert problem is not None  # never stricter than the RDF library: no crash later
        return
    if problem is not None:
        return
    triple = Triple(NamedNode("https://example.org/s"), NamedNode("https://schema.org/url"), node)
    nt = to_bytes([triple], RdfFormat.N_TRIPLES)
    written = [m.group(1).decode() for m in _IRIREF.finditer(nt)]
    assert written[-1] == candidate, nt  # inside <...>, nothing that could end or break it
    parsed = rdflib.Graph().parse(data=nt.decode(), format="nt")
    assert {str(o) for o in parsed.objects()} == {candidate}
    assert [t.object for t in parse(nt, format=RdfFormat.N_TRIPLES)] == [node]


def test_unusual_legal_iris_published_exactly(minimal_copy: Path) -> None:
    from pipeline.build import run_pipeline

    url = "https://例え.jp/a'b(c)!$&*+,;=%20ä?q=1&r=(2)#frag"
    ref_url = "https://example.org/it's"
    source = minimal_copy / "sources/article.yaml"
    text = source.read_text("utf-8")
    text = text.replace("  language: en\n", f"  language: en\n  url: {json.dumps(url)}\n")
    text = text.replace(
        "    kind: journal-article\n",
        f"    kind: journal-article\n    url: {json.dumps(ref_url)}\n",
    )
    text = text.replace("doi: 10.1234/jtm.2018.1", "doi: 10.1234/a<b>\"c'd")
    source.write_text(text, "utf-8")
    result = run_pipeline(minimal_copy)
    assert result.report.conforms, result.report.to_text()
    nt, ttl = result.files["graph.nt"], result.files["graph.ttl"]
    for line in nt.splitlines():  # every IRI in N-Triples is a clean IRIREF
        assert b" <" not in _IRIREF.sub(b"", line), line
    doi_iri = "https://doi.org/10.1234/a%3Cb%3E%22c%27d"
    for data, fmt in ((nt, "nt"), (ttl, "turtle")):
        iris = {str(t) for t in rdflib.Graph().parse(data=data.decode(), format=fmt).all_nodes()}
        assert {url, ref_url, doi_iri} <= iris


def test_bad_iri_through_the_cli(
    minimal_copy: Path, previous_dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = minimal_copy.parent / "dist"
    shutil.copytree(previous_dist, out)
    source = minimal_copy / "sources/article.yaml"
    text = source.read_text("utf-8")
    source.write_text(text.replace("  language: en\n", "  language: en\n  url: javascript:x\n"))
    capsys.readouterr()
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert (
        "data/sources/article.yaml:14:8: violation: source.url: `javascript:x` is not a web "
        "address (it uses `javascript:`): only http and https IRIs are allowed (bad-iri)"
    ) in err
    assert snapshot(out) == snapshot(previous_dist)
