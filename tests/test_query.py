"""The competency questions (`queries/*.rq`) on the real corpus, and `crampkg query`.

Every query is run once through `run_query` (the code behind `crampkg query`) on the graph built
from data/. Its rows are checked against values read in the data (the dehydration controversy,
the copy of the Health Board article, the 2018 review...) and, where the rule can be stated
independently, against the same answer computed in Python from the loaded corpus.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline import nonet
from pipeline.build import BuildResult, run_pipeline
from pipeline.cli import main
from pipeline.model import Corpus
from pipeline.query import QueryRefused, QuerySyntaxError, QueryTimeout, read_query, run_query
from tests.conftest import DATA, ROOT
from tests.listener import RecordingListener
from tests.test_sparql_guard import CASES, CONNECTS, fill

QUERIES = ROOT / "queries"
BASE = "https://w3id.org/crampkg/"
E, S, CK = f"{BASE}entity/", f"{BASE}source/", "https://w3id.org/crampkg/ontology#"
VERYWELL, DRORACLE, HEALTHBOARD = (
    "verywell-cramp-causes",
    "droracle-cramp-causes",
    "healthboard-cramp-causes",
)
COPY, COMMENTS, PHYSIO = (
    "healthboard-copy",
    "healthboard-cramp-causes-comments",
    "physio-blog-cramps",
)
Rows = list[dict[str, str]]


def build_corpus(out: Path, exporters: list[str] | None = None) -> BuildResult:
    """The graph of data/ written to `out` like `crampkg build` does (SHACL skipped: the
    graph is the same, and the build tests validate it)."""
    result = run_pipeline(DATA, validate=False, exporters=exporters)
    assert result.report.conforms, result.report.to_text()
    for rel, data in result.files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    out = tmp_path_factory.mktemp("dist")
    return out, build_corpus(out, ["ntriples"])


@pytest.fixture(scope="module")
def dist(built: tuple[Path, BuildResult]) -> Path:
    return built[0]


@pytest.fixture(scope="module")
def corpus(built: tuple[Path, BuildResult]) -> Corpus:
    assert built[1].corpus is not None
    return built[1].corpus


def _rows(data: bytes) -> Rows:
    doc = json.loads(data)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


@pytest.fixture(scope="module")
def answers(dist: Path) -> dict[str, Rows]:
    """Every query of queries/, run once, as SPARQL JSON results parsed into rows."""
    return {
        p.stem: _rows(run_query(dist, p.read_text(encoding="utf-8"), "json", 60).data)
        for p in sorted(QUERIES.glob("*.rq"))
    }


def ids(value: str) -> set[str]:
    return set(value.split())


def independent(corpus: Corpus, source_id: str) -> str | None:
    """The origin a source counts as, or None when it is not independent (the rule of
    docs/queries.md, written again in Python as an oracle for the SPARQL)."""
    src = corpus.sources[source_id]
    if src.copy_of or src.kind in ("republished-copy", "reader-comments"):
        return None
    doc = corpus.sources[src.part_of] if src.part_of else src
    return f"publisher:{doc.publisher}" if doc.publisher else f"source:{doc.id}"


# --------------------------------------------------------------------------- per question


def check_contested_relations(rows: Rows, corpus: Corpus) -> None:
    found = {(r["subject"], r["predicate"], r["object"]): r for r in rows}
    assert set(found) == {
        (f"{E}muscle-cramp", f"{CK}hasCause", f"{E}dehydration"),
        (f"{E}muscle-cramp", f"{CK}hasCause", f"{E}electrolyte-depletion"),
        (f"{E}muscle-cramp", f"{CK}hasMechanism", f"{E}altered-neuromuscular-control"),
        (f"{E}muscle-cramp", f"{CK}hasMechanism", f"{E}dehydration-theory"),
        (f"{E}muscle-cramp", f"{CK}hasMechanism", f"{E}electrolyte-depletion-theory"),
        (f"{E}muscle-cramp", f"{CK}hasMechanism", f"{E}neuromuscular-hypersensitivity"),
    }
    # dehydration as a cause: every article that raises it also reports evidence against it
    dehydration = found[(f"{E}muscle-cramp", f"{CK}hasCause", f"{E}dehydration")]
    assert dehydration["objectLabel"] == "Dehydration"
    assert ids(dehydration["sourcesFor"]) == {VERYWELL, DRORACLE, HEALTHBOARD, COPY}
    assert ids(dehydration["sourcesAgainst"]) == {VERYWELL, DRORACLE, HEALTHBOARD, COPY}
    anc = found[(f"{E}muscle-cramp", f"{CK}hasMechanism", f"{E}altered-neuromuscular-control")]
    assert ids(anc["sourcesFor"]) == {VERYWELL, DRORACLE, HEALTHBOARD, COPY, PHYSIO}
    assert ids(anc["sourcesAgainst"]) == {HEALTHBOARD}
    electrolytes = found[(f"{E}muscle-cramp", f"{CK}hasCause", f"{E}electrolyte-depletion")]
    assert ids(electrolytes["sourcesFor"]) == {PHYSIO, DRORACLE, HEALTHBOARD, COPY}


def check_independent_risk_factors(rows: Rows, corpus: Corpus) -> None:
    assert {r["riskFactor"]: int(r["independentSources"]) for r in rows} == {
        f"{E}certain-medications": 2,
        f"{E}exercising-in-heat": 2,
    }
    by = {r["riskFactor"]: r for r in rows}
    assert ids(by[f"{E}exercising-in-heat"]["sources"]) == {VERYWELL, DRORACLE}
    assert ids(by[f"{E}certain-medications"]["sources"]) == {PHYSIO, HEALTHBOARD}
    # the same rule in Python
    origins: dict[str, set[str]] = defaultdict(set)
    all_sources: dict[str, set[str]] = defaultdict(set)
    for c in corpus.claims.values():
        obj = corpus.entities.get(c.object or "")
        is_rf = c.predicate == "has-risk-factor" or (
            c.predicate == "has-cause" and obj is not None and obj.type == "risk-factor"
        )
        if c.stance == "supports" and is_rf and c.object:
            all_sources[c.object].add(c.source)
            origin = independent(corpus, c.source)
            if origin:
                origins[c.object].add(origin)
    expected = {f"{E}{rf}": len(o) for rf, o in origins.items() if len(o) >= 2}
    assert {r["riskFactor"]: int(r["independentSources"]) for r in rows} == expected
    # the copy is what would make these two count twice: the exclusion matters
    for rf in ("inadequate-fluid-intake", "withholding-water"):
        assert all_sources[rf] == {HEALTHBOARD, COPY}
        assert f"{E}{rf}" not in by


def check_no_peer_reviewed_support(rows: Rows, corpus: Corpus) -> None:
    peer_reviewed_sources = {r.source for r in corpus.references.values() if r.peer_reviewed}
    assert peer_reviewed_sources == {VERYWELL}
    supporters: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for c in corpus.claims.values():
        if c.stance == "supports" and c.object:
            supporters[(c.subject, c.predicate, c.object)].add(c.source)
    expected = {k: v for k, v in supporters.items() if not v & peer_reviewed_sources}
    found = {
        (r["subject"].removeprefix(E), r["object"].removeprefix(E)): ids(r["sources"]) for r in rows
    }
    assert len(rows) == len(expected)
    assert found == {(s, o): v for (s, _, o), v in expected.items()}
    assert found[("muscle-cramp", "atherosclerosis")] == {HEALTHBOARD}
    assert ("muscle-cramp", "exercising-in-heat") not in found  # Verywell cites reviews
    assert ("muscle-cramp", "massage") not in found


def check_heat_cramps(rows: Rows, corpus: Corpus) -> None:
    facts = {
        (r["property"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], r["valueLabel"])
        for r in rows
        if r["kind"] == "entity"
    }
    assert facts == {
        ("prefLabel", "Heat cramps"),
        ("altLabel", "heat cramp"),
        ("broader", "Muscle cramp"),
        ("definition", corpus.entities["heat-cramps"].description),
        ("code", "ICD-10 T67.2: Heat cramp"),
        ("code", "ICD-10-CM T67.2XXA: Heat cramp, initial encounter"),
        ("code", "MeSH D018882: Heat Stress Disorders"),
    }
    claims = [r for r in rows if r["kind"] == "claim"]
    treatments = {
        r["value"].removeprefix(E) for r in claims if r["property"] == f"{CK}hasTreatment"
    }
    assert treatments == {"rest", "cooling-off", "electrolyte-carbohydrate-drinks"}
    risk = {r["value"].removeprefix(E) for r in claims if r["property"] == f"{CK}hasRiskFactor"}
    assert risk == {"exercising-in-heat"}
    about = {
        (r["value"].removeprefix(E), r["stance"].removeprefix(CK))
        for r in rows
        if r["kind"] == "claim about it"
    }
    assert about == {("muscle-cramp", "mentions"), ("muscle-spasm", "supports")}
    expected = [c for c in corpus.claims.values() if "heat-cramps" in (c.subject, c.object)]
    assert len(claims) + len(about) == sum(len(c.evidence) for c in expected) == 12
    assert {r["source"] for r in claims} == {f"{S}{DRORACLE}"}
    # entity facts first, then claims, then claims about it
    order = [r["kind"] for r in rows]
    assert order == sorted(order, key=["entity", "claim", "claim about it"].index)


def check_evidence_for_relation(rows: Rows, corpus: Corpus) -> None:
    stances = Counter(r["stance"].removeprefix(CK) for r in rows)
    assert stances == {"disputes": 7, "hypothesis": 6, "mentions": 1}
    expected = {
        c.id
        for c in corpus.claims.values()
        if (c.subject, c.predicate, c.object) == ("muscle-cramp", "has-cause", "dehydration")
    }
    assert {r["claim"].rsplit("/", 1)[-1] for r in rows} == expected
    review = next(r for r in rows if r["claim"].endswith("c000-review-dehydration-cause-disputed"))
    assert review["quote"] == (
        "there was only inconsistent evidence to support the dehydration and electrolyte "
        "depletion theory"
    )
    assert review["cites"] == f"{BASE}reference/ref-verywell-2018-review"
    for r in rows:  # verbatim: each quote stands in its source's snapshot
        source = corpus.sources[r["source"].removeprefix(S)]
        assert " ".join(r["quote"].split()) in " ".join(source.text.split())


def check_treatments_by_evidence(rows: Rows, corpus: Corpus) -> None:
    ranks = [int(r["rank"]) for r in rows]
    assert ranks == sorted(ranks)
    by = {(r["condition"].removeprefix(E), r["treatment"].removeprefix(E)): r for r in rows}
    top = {k for k, r in by.items() if r["rank"] == "1"}
    assert top == {("muscle-cramp", "massage"), ("muscle-cramp", "stretching-cramping-muscle")}
    assert by[("muscle-cramp", "massage")]["strength"] == "several independent sources"
    # the Health Board article and its copy are one source
    drinks = by[("muscle-cramp", "electrolyte-drinks")]
    assert (drinks["rank"], drinks["independentSources"]) == ("2", "1")
    for drug in ("baclofen", "albumin"):
        assert by[("muscle-cramp", drug)]["strength"] == "hypothesis only"
    pill = by[("dysmenorrhea", "oral-contraceptives")]
    assert (pill["strength"], pill["readerReports"]) == ("reader reports only", "4")
    assert by[("nocturnal-leg-cramps", "massage")]["strength"] == "disputed"
    assert by[("ascites", "diuretics")]["strength"] == "mentioned only"
    relations = {
        (c.subject, c.object) for c in corpus.claims.values() if c.predicate == "has-treatment"
    }
    assert set(by) == relations


def check_references_with_doi(rows: Rows, corpus: Corpus) -> None:
    with_doi = {r.id: r.doi for r in corpus.references.values() if r.doi}
    assert with_doi == {"ref-jahic-2018": "10.5455/msm.2018.30.67-69"}
    assert {r["doi"] for r in rows} == {"10.5455/msm.2018.30.67-69"}
    assert {r["claim"].rsplit("/", 1)[-1] for r in rows} == {
        "c000-review-dehydration-cause-disputed",
        "c000-review-dehydration-electrolyte-theory-disputed",
        "c000-review-electrolyte-depletion-cause-disputed",
        "c000-review-neuromuscular-better-evidence",
    }
    assert {(r["how"], r["mention"]) for r in rows} == {
        ("may cite (named mention)", "A 2018 review")
    }


def check_condition_codes(rows: Rows, corpus: Corpus) -> None:
    expected = {
        (
            e.id,
            code.system,
            code.code,
            f"http://www.w3.org/2004/02/skos/core#{code.match}Match",
            code.status,
        )
        for e in corpus.entities.values()
        if e.type == "condition"
        for code in e.codes
    }
    status = {"verified": "verified", "labelFromOtherVocabulary": "label-from-other-vocabulary"}
    found = [
        (
            r["condition"].removeprefix(E),
            r["system"],
            r["code"],
            r["match"],
            status[r["status"].removeprefix(CK)],
        )
        for r in rows
    ]
    assert len(found) == len(set(found)) == len(expected) == 124
    assert set(found) == expected
    heat = next(r for r in rows if r["condition"] == f"{E}heat-cramps" and r["code"] == "T67.2")
    assert heat["codeIri"] == "http://purl.bioontology.org/ontology/ICD10/T67.2"
    assert heat["match"].endswith("#exactMatch") and heat["codeLabel"] == "Heat cramp"


def check_sources_overview(rows: Rows, corpus: Corpus) -> None:
    by = {r["source"].removeprefix(S): r for r in rows}
    assert set(by) == set(corpus.sources)
    assert {s for s, r in by.items() if r["independent"] == "true"} == {
        VERYWELL,
        DRORACLE,
        HEALTHBOARD,
        PHYSIO,
    }
    assert by[COPY]["copyOf"] == f"{S}{HEALTHBOARD}"
    assert by[COMMENTS]["partOf"] == f"{S}{HEALTHBOARD}"
    assert by[COMMENTS]["publisher"] == by[HEALTHBOARD]["publisher"] == "The Health Board"
    per_source = Counter((c.source, c.stance) for c in corpus.claims.values())
    for s, r in by.items():
        assert int(r["claims"]) == sum(n for (src, _), n in per_source.items() if src == s)
        assert int(r["disputing"]) == per_source[(s, "disputes")]
        assert int(r["supporting"]) == per_source[(s, "supports")]


def check_mechanisms(rows: Rows, corpus: Corpus) -> None:
    first = rows[0]
    assert first["mechanism"] == f"{E}altered-neuromuscular-control"
    assert (first["supporting"], first["hypotheses"], first["disputing"]) == ("3", "4", "1")
    by = {r["mechanism"].removeprefix(E): r for r in rows}
    assert (
        by["dehydration-electrolyte-theory"]["supporting"],
        by["dehydration-electrolyte-theory"]["disputing"],
    ) == ("0", "2")
    expected = {
        c.object
        for c in corpus.claims.values()
        if c.subject == "muscle-cramp" and c.predicate == "has-mechanism"
    }
    assert set(by) == expected


def check_anecdotal_only(rows: Rows, corpus: Corpus) -> None:
    in_articles = {
        (c.subject, c.predicate, c.object) for c in corpus.claims.values() if c.source != COMMENTS
    }
    found = {r["claim"].rsplit("/", 1)[-1] for r in rows}
    claims = [corpus.claims[i] for i in found]
    assert all(c.source == COMMENTS for c in claims)
    assert not {(c.subject, c.predicate, c.object) for c in claims} & in_articles
    assert (
        "c002c-pill-cramps-gone" in found
    )  # "my cramps are totally gone since I went on the pill"
    expected = {
        c.id
        for c in corpus.claims.values()
        if c.source == COMMENTS
        and c.object in corpus.entities
        and (c.subject, c.predicate, c.object) not in in_articles
    }
    assert found == expected


def check_copy_additions(rows: Rows, corpus: Corpus) -> None:
    assert {(r["copy"], r["original"]) for r in rows} == {(f"{S}{COPY}", f"{S}{HEALTHBOARD}")}
    original = {
        (c.subject, c.predicate, c.object)
        for c in corpus.claims.values()
        if c.source == HEALTHBOARD
    }
    found = {r["claim"].rsplit("/", 1)[-1] for r in rows}
    expected = {
        c.id
        for c in corpus.claims.values()
        if c.source == COPY
        and c.object in corpus.entities
        and (c.subject, c.predicate, c.object) not in original
    }
    assert found == expected
    assert "c003-caption-fluid-long-runs" in found  # an image caption the original lacks


def check_uncertain_citations(rows: Rows, corpus: Corpus) -> None:
    markers = Counter(
        (c.source, m)
        for c in corpus.claims.values()
        for ev in c.evidence
        for m in set(ev.unresolved)
    )
    claims_per_marker: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in corpus.claims.values():
        for ev in c.evidence:
            for m in ev.unresolved:
                claims_per_marker[(c.source, m)].add(c.id)
    found = {
        (r["source"].removeprefix(S), r["detail"]): int(r["claims"])
        for r in rows
        if r["problem"] == "unresolved citation marker"
    }
    assert found == {k: len(v) for k, v in claims_per_marker.items()}
    assert set(found) == {(DRORACLE, m) for m in "12345"} and markers
    named = [r for r in rows if r["problem"] == "study named only in words"]
    assert [
        (r["source"].removeprefix(S), r["detail"], ids(r["candidates"]), r["claims"]) for r in named
    ] == [
        (
            VERYWELL,
            "A 2018 review",
            {f"{BASE}reference/ref-jahic-2018", f"{BASE}reference/ref-giuriato-2018"},
            "4",
        )
    ]


def check_populations_and_doses(rows: Rows, corpus: Corpus) -> None:
    expected = {c.id for c in corpus.claims.values() if c.population or c.dose}
    assert [r["claim"].rsplit("/", 1)[-1] for r in rows].count("c001-baclofen-liver") == 1
    assert {r["claim"].rsplit("/", 1)[-1] for r in rows} == expected
    baclofen = next(r for r in rows if r["claim"].endswith("/c001-baclofen-liver"))
    assert baclofen["objectLabel"] == "Baclofen"
    assert baclofen["population"] == "patients with liver disease"
    assert (float(baclofen["doseValue"]), baclofen["doseUnit"], baclofen["doseNote"]) == (
        10.0,
        "mg/day",
        "starting dose",
    )


CHECKS: dict[str, Callable[[Rows, Corpus], None]] = {
    name.removeprefix("check_").replace("_", "-"): fn
    for name, fn in list(globals().items())
    if name.startswith("check_") and callable(fn)
}


def test_every_query_has_a_check() -> None:
    assert sorted(CHECKS) == sorted(p.stem for p in QUERIES.glob("*.rq"))
    assert len(CHECKS) >= 12


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_query_answers(name: str, answers: dict[str, Rows], corpus: Corpus) -> None:
    rows = answers[name]
    assert rows, f"{name}.rq returned no rows"
    CHECKS[name](rows, corpus)


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.rq")), ids=lambda p: p.name)
def test_query_files_have_a_question(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(r"# Question: [A-Z].*\?", lines[0]), lines[0]
    assert lines[1].startswith("# "), "explain what one row of the answer means"


def test_docs_list_every_query() -> None:
    doc = (ROOT / "docs" / "queries.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`queries/([\w.-]+\.rq)`", doc))
    files = {p.name for p in QUERIES.glob("*.rq")}
    assert listed == files
    for p in QUERIES.glob("*.rq"):  # with the question as the file states it
        question = p.read_text(encoding="utf-8").splitlines()[0].removeprefix("# Question: ")
        assert f"`queries/{p.name}`](../queries/{p.name}) | {question} |" in doc


# --------------------------------------------------------------------------- crampkg query


def test_cli_table_and_row_count(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--dist", str(dist), str(QUERIES / "mechanisms.rq")]) == 0
    out, err = capsys.readouterr()
    header, rule, first = out.splitlines()[:3]
    assert header.split() == [
        "mechanism",
        "mechanismLabel",
        "supporting",
        "hypotheses",
        "disputing",
        "sources",
    ]
    assert set(rule.replace(" ", "")) == {"-"}
    assert re.split(r"\s{2,}", first)[:5] == [
        "<entity/altered-neuromuscular-control>",
        "Altered neuromuscular control hypothesis",
        "3",
        "4",
        "1",
    ]
    assert "crampkg: 14 results" in err


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_cli_standard_formats(fmt: str, dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT ?label WHERE { <entity/heat-cramps> skos:prefLabel ?label }"
    assert main(["query", "--dist", str(dist), "--format", fmt, query]) == 0
    out = capsys.readouterr().out
    expected = {
        "csv": "label\r\nHeat cramps\r\n",
        "tsv": '?label\n"Heat cramps"@en\n',
        "json": '{"head":{"vars":["label"]},"results":{"bindings":[{"label":'
        '{"type":"literal","value":"Heat cramps","xml:lang":"en"}}]}}',
    }
    assert out == expected[fmt]


def test_cli_ask_and_construct(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--dist", str(dist), "ASK { <entity/heat-cramps> a ck:Condition }"]) == 0
    assert capsys.readouterr().out == "true\n"
    assert main(["query", "--dist", str(dist), "--format", "json", "ASK { <entity/x> ?p ?o }"]) == 0
    assert json.loads(capsys.readouterr().out) == {"head": {}, "boolean": False}
    assert main(["query", "--dist", str(dist), "DESCRIBE <entity/heat-cramps>"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == sorted(lines) and len(lines) > 10
    assert all(ln.startswith(f"<{E}heat-cramps> ") for ln in lines)


def test_syntax_error_gives_line_and_column(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = "SELECT ?x\nWHERE {\n  ?x ck:stance ck:supports\n  FILTR(?x)\n}"
    assert main(["query", "--dist", str(dist), bad]) == 2
    err = capsys.readouterr().err
    assert re.search(r"SPARQL syntax error at line 4, column \d+", err), err
    with pytest.raises(QuerySyntaxError) as info:
        run_query(dist, bad)
    assert info.value.line == 4


def test_timeout_stops_the_query(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expensive = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # 13k x 13k rows
    start = time.monotonic()
    with pytest.raises(QueryTimeout):
        run_query(dist, expensive, timeout=1.0)
    assert time.monotonic() - start < 5
    assert main(["query", "--dist", str(dist), "--timeout", "0.5", expensive]) == 2
    assert "did not finish within 0.5 s" in capsys.readouterr().err


def test_query_from_file_or_text(tmp_path: Path) -> None:
    path = tmp_path / "q.rq"
    path.write_text("ASK {}")
    assert read_query(str(path)) == "ASK {}"
    assert read_query("ASK {}") == "ASK {}"
    assert read_query("SELECT * WHERE { ?s ?p ?o }" * 40).startswith("SELECT")  # no OSError


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dist", "{tmp}", "ASK {}"], "graph.nt not found"),
        (["--dist", "{dist}", "no-such-file.rq"], "no such query file"),
        (["--dist", "{dist}", "--format", "xml", "ASK {}"], None),
    ],
)
def test_cli_errors_exit_2(
    args: list[str],
    message: str | None,
    dist: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "query",
        *(a.replace("{tmp}", str(tmp_path)).replace("{dist}", str(dist)) for a in args),
    ]
    if message is None:
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    else:
        assert main(argv) == 2
        assert message in capsys.readouterr().err


# Issue 9, case 5: `crampkg query` fetches nothing. Oxigraph would call a SERVICE endpoint
# (tests/test_sparql_guard.py), so SERVICE is refused before the child starts, and the child
# itself cannot connect (seccomp, pipeline/nonet.py). The recording listener sees any
# connection, from Python or from pyoxigraph's Rust code; the socket hook guards the parent.


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    served = RecordingListener()
    yield served
    served.close()


@pytest.mark.parametrize("form", [name for name, (_, does) in CASES.items() if does == CONNECTS])
def test_service_refused_exit_2_nothing_connects(
    form: str,
    dist: Path,
    listener: RecordingListener,
    no_network: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["query", "--dist", str(dist), fill(CASES[form][0], listener)]) == 2
    err = capsys.readouterr().err
    assert "SERVICE (a call to another SPARQL endpoint) is refused (line " in err, err
    assert "never opens a network connection" in err
    assert listener.connections(settle=0.05) == 0  # refused before any child process ran
    assert no_network == []


@pytest.mark.skipif(not nonet.supported(), reason="the seccomp sandbox is Linux x86-64/arm64")
def test_service_stopped_by_the_sandbox_if_the_check_missed_it(
    dist: Path, listener: RecordingListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.query.check_local", lambda query: None)  # as if it missed
    query = f"SELECT * WHERE {{ SERVICE <{listener.url}sparql> {{ ?x ?y ?z }} }}"
    with pytest.raises(QueryRefused, match=r"is refused: .*\(Permission denied"):
        run_query(dist, query)
    assert listener.connections() == 0


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("SELECT (COUNT(*) AS ?n) FROM <{u}> WHERE { ?s ?p ?o }", "0"),
        ("SELECT (COUNT(*) AS ?n) FROM NAMED <{u}> WHERE { GRAPH ?g { ?s ?p ?o } }", "0"),
        ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <{u}> { ?s ?p ?o } }", "0"),
        ("SELECT (COUNT(*) AS ?n) WHERE { <{u}> ?p ?o }", "0"),
    ],
    ids=["from", "from-named", "graph", "remote-subject"],
)
def test_remote_graph_names_are_local_names_nothing_connects(
    query: str,
    answer: str,
    dist: Path,
    listener: RecordingListener,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """FROM and FROM NAMED choose graphs of the local store by name: none has that name."""
    assert main(["query", "--dist", str(dist), "--format", "csv", fill(query, listener)]) == 0
    assert capsys.readouterr().out.split() == ["n", answer]
    assert listener.connections() == 0
