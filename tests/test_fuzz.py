"""Issue 9, case 12: property-based fuzzing of the whole build.

- Random *valid* knowledge (tests/fuzzgen.py) must build and conform; every exporter runs;
  graph.ttl, graph.nt and graph.jsonld hold the same triples (rdflib, and pyld with a loader
  that refuses every URL); every text is published byte for byte in the JSON-LD; each API
  document expands to triples of the graph; each page embeds exactly its schema.org file, and
  no text from the data can open a tag, a script or a comment in any page.
- Random *invalid* YAML (valid files mutated: lines deleted or duplicated, truncation, random
  bytes, bad indentation, tabs, unknown keys, tags, anchors, wrong types, BOM, bad UTF-8, ...)
  must give `crampkg build` exit code 1 or 2 with located problems and nothing written, never
  a traceback.

CI runs a fixed, derandomised set of examples in seconds; CRAMPKG_FUZZ_EXAMPLES=500 runs that
many fresh random ones, and CRAMPKG_FUZZ_SHRINK=1 shrinks a failure to a minimal example (slow).
A failure prints the generated folder and a @reproduce_failure blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import pytest
import rdflib
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pyld import jsonld
from rdflib import SKOS, Graph, Literal, URIRef
from rdflib.term import Node

from pipeline.build import BuildResult, run_pipeline
from pipeline.cli import main
from pipeline.exporters import EXPORTERS
from tests.fuzzgen import Folder, folders, yaml_str
from tests.fuzzmut import KINDS, broken
from tests.test_site import ALLOWED_TAGS, Page, invisible_values, normalise

EXAMPLES = int(os.environ.get("CRAMPKG_FUZZ_EXAMPLES", "0"))
XSD = "http://www.w3.org/2001/XMLSchema#"
LEXICAL = {  # XSD lexical forms of the datatypes the graph uses
    "decimal": r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)",
    "integer": r"[+-]?[0-9]+",
    "boolean": r"true|false|1|0",
    "date": r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?",
    "gYear": r"-?[0-9]{4,}(Z|[+-][0-9]{2}:[0-9]{2})?",
    "hexBinary": r"([0-9a-fA-F]{2})*",
}
Triples = set[tuple[Node, Node, Node]]

# Bugs the fuzzer has found and that are not fixed yet: the generators steer clear of them so
# every other property is still checked, and each has a strict-xfail regression test below.
# The four found so far (title line breaks, `#` bases, exponent decimals, agent slugs) are fixed
# and their tests now pass; the generators produce those cases again.
KNOWN_BUGS: frozenset[str] = frozenset()  # all four found so far are fixed


def fuzz_settings(ci_examples: int) -> settings:
    """Fixed examples in CI (derandomised: same inputs every run); fresh ones when asked."""
    return settings(
        max_examples=EXAMPLES or ci_examples,
        derandomize=not EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        # shrinking a failing build takes minutes; the unshrunk example is printed anyway
        phases=[p for p in Phase if p is not Phase.shrink or os.environ.get("CRAMPKG_FUZZ_SHRINK")],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# ------------------------------------------------------------------ RDF helpers


@pytest.fixture(scope="module", autouse=True)
def exact_literals() -> Iterator[None]:
    """Compare literals by their lexical form: rdflib would turn "1e-07" into "0.0000001"."""
    saved, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    yield
    rdflib.NORMALIZE_LITERALS = saved


def _refuse(url: str, options: object = None) -> None:
    raise AssertionError(f"a remote document was requested: {url}")


def _term(t: dict[str, Any]) -> Node:
    if t["type"] == "IRI":
        return URIRef(t["value"])
    if t["type"] == "blank node":
        raise AssertionError(f"blank node {t['value']} in the JSON-LD")
    if t.get("language"):
        return Literal(t["value"], lang=t["language"])
    datatype = t.get("datatype")
    return Literal(t["value"], datatype=None if datatype == XSD + "string" else URIRef(datatype))


def pyld_triples(doc: Any, loader: Any = _refuse) -> Triples:
    """Triples of a JSON-LD document by pyld, taken term by term (no N-Quads re-parsing)."""
    dataset = jsonld.to_rdf(doc, {"documentLoader": loader})
    return {
        (_term(q["subject"]), _term(q["predicate"]), _term(q["object"]))
        for q in dataset.get("@default", [])
    }


def strings(value: Any) -> set[str]:
    """Every string in a JSON document, keys aside."""
    if isinstance(value, dict):
        return {s for v in value.values() for s in strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in strings(v)}
    return {value} if isinstance(value, str) else set()


# ------------------------------------------------------------------ the valid-build property


def check_exports(result: BuildResult) -> None:
    assert {f"export:{name}" for name in EXPORTERS} <= set(result.timings)
    manifest = json.loads(result.files["manifest.json"])
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == set(result.files) - {"manifest.json"}
    for path, digest in listed.items():
        assert hashlib.sha256(result.files[path]).hexdigest() == digest, path
    for name, data in result.files.items():
        if name.endswith(".ttl") and name != "ontology.ttl":  # that one is copied verbatim
            Graph().parse(data=data, format="turtle")  # void.ttl, validation/report.ttl


def check_round_trips(result: BuildResult) -> Triples:
    files = result.files
    nt = set(Graph().parse(data=files["graph.nt"], format="nt"))
    assert not [t for t in nt for n in t if not isinstance(n, URIRef | Literal)]
    turtle = Graph().parse(data=files["graph.ttl"], format="turtle")
    assert _decimal_values(set(turtle)) == _decimal_values(nt)
    assert pyld_triples(json.loads(files["graph.jsonld"])) == nt
    assert len(nt) == len(result.graph or [])
    for _, _, o in nt:  # every typed literal is in its datatype's lexical space
        kind = str(getattr(o, "datatype", None) or "").removeprefix(XSD)
        if kind in LEXICAL:
            assert re.fullmatch(LEXICAL[kind], str(o)), (str(o), kind)
    return nt


def _decimal_values(triples: Triples) -> Triples:
    """The triples with xsd:decimal literals compared by value: rdflib's Turtle parser reads
    the bare decimal 0.000000001 through Python's Decimal, as "1E-9", whatever the setting
    of rdflib.NORMALIZE_LITERALS (graph.nt, read verbatim, has "0.000000001")."""
    decimal = XSD + "decimal"

    def value(o: Node) -> Node:
        if isinstance(o, Literal) and str(o.datatype) == decimal:
            return Literal(format(Decimal(str(o)), "f"), datatype=URIRef(decimal))
        return o

    return {(s, p, value(o)) for s, p, o in triples}


_AGENT = re.compile(r"[/#](person|organization)/[^/]+$")  # under a base ending in / or #


def check_agents(folder: Folder, graph: Triples) -> None:
    """Different names never become one person or organisation (nor one name two nodes)."""
    names: dict[str, set[str]] = {}
    for s, p, o in graph:
        if str(p) == "http://schema.org/name" and _AGENT.search(str(s)):
            names.setdefault(str(s), set()).add(str(o))
    assert [n for n in names.values() if len(n) > 1] == []
    sources = [d["source"] for d in folder.documents.values() if "source" in d]
    people = {p["name"] for s in sources for k in ("authors", "reviewers") for p in s.get(k, [])}
    orgs = {s["publisher"] for s in sources if "publisher" in s}
    assert len(names) == len(people) + len(orgs)


def _texts(folder: Folder) -> list[str]:
    """Every free text of the folder that the graph carries as a literal."""
    out = []
    for e in folder.entities:
        out += [
            e["label"],
            *e.get("altLabels", []),
            *[e[k] for k in ("description", "note") if k in e],
        ]
        out += [c["label"] for c in e.get("codes", []) if "label" in c]
    for c in folder.claims:
        out += [ev["quote"] for ev in c["evidence"]]
        out += [c[k] for k in ("value", "population", "note") if k in c]
    for doc in folder.documents.values():
        src = doc.get("source", {})
        out += [src[k] for k in ("title", "publisher", "note") if k in src]
        out += [p["name"] for k in ("authors", "reviewers") for p in src.get(k, [])]
        for ref in doc.get("references", []):
            out += [ref[k] for k in ("citation", "title", "container", "mention") if k in ref]
        out += [doc["dataset"]["title"]] if "dataset" in doc else []
    return out


def check_texts_published_exactly(folder: Folder, result: BuildResult, graph: Triples) -> None:
    base = json.loads(result.files["manifest.json"])["dataset"]["base"]
    for e in folder.entities:
        iri = URIRef(f"{base}entity/{e['id']}")
        assert (iri, SKOS.prefLabel, Literal(e["label"], lang="en")) in graph
        for alt in e.get("altLabels", []):
            assert (iri, SKOS.altLabel, Literal(alt, lang="en")) in graph
    published = strings(json.loads(result.files["graph.jsonld"]))  # byte for byte, as parsed
    assert [t for t in _texts(folder) if t not in published] == []


def check_api(result: BuildResult, graph: Triples) -> None:
    files = result.files
    schema = Draft202012Validator(json.loads(files["api/condition.schema.json"]))
    context = json.loads(files["context/v1.jsonld"])

    def local(url: str, options: object = None) -> dict[str, Any]:
        if not url.endswith("context/v1.jsonld"):  # under a base ending in / or #
            _refuse(url)
        return {"contentType": "application/ld+json", "contextUrl": None,
                "documentUrl": url, "document": context}  # fmt: skip

    for name, data in files.items():
        if name.startswith("api/conditions/"):
            doc = json.loads(data)
            assert not list(schema.iter_errors(doc)), name
            assert pyld_triples(doc, local) <= graph, name


def check_pages(folder: Folder, result: BuildResult) -> None:
    files = result.files
    labels = {e["id"]: e["label"] for e in folder.entities}
    index = files["site/index.html"].decode()
    assert "<script" not in index.lower() and "<!--" not in index
    for name, data in files.items():
        m = re.fullmatch(r"schemaorg/(.+)\.jsonld", name)
        if not m:
            continue
        markup = json.loads(data)
        html = files[f"site/{m[1]}.html"].decode()
        label = labels[m[1]]
        assert markup["about"]["name"] == label
        assert f"<bdi>{escape(label)}</bdi>" in html and f"<bdi>{escape(label)}</bdi>" in index
        # one script element, the JSON-LD; nothing the data says opened another or a comment
        assert html.lower().count("<script") == 1 and html.lower().count("</script") == 1
        assert "<!--" not in html
        raw = html[html.index("<script") : html.index("</script>")].split(">", 1)[1]
        assert not set(raw) & {"<", ">", "&", "\u2028", "\u2029"}
        page = Page(html)
        assert page.jsonld() == [markup]
        for tag, attrs in page.tags:
            assert tag in ALLOWED_TAGS, tag
            assert not [k for k, _ in attrs if k.startswith("on")], (tag, attrs)
        assert normalise(label) in page.text
        assert invisible_values(markup, html) == []


@fuzz_settings(ci_examples=40)
@given(folder=folders(KNOWN_BUGS))
def test_fuzz_valid_knowledge_builds_validates_exports_and_round_trips(folder: Folder) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = run_pipeline(folder.write(Path(tmp) / "data"))
    assert result.report.conforms, result.report.to_text()
    assert result.report.exit_code() == 0
    check_exports(result)
    graph = check_round_trips(result)
    check_agents(folder, graph)
    check_texts_published_exactly(folder, result, graph)
    check_api(result, graph)
    check_pages(folder, result)
    event(f"{sum(n.startswith('schemaorg/') for n in result.files)} condition page(s)")


# ------------------------------------------------------------------ the invalid-YAML property


def build_cli(data: Path, out: Path) -> tuple[int, str]:
    """`crampkg build --format json` in-process: (exit code, stdout)."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(["build", "-q", "--format", "json", "--data", str(data), "--out", str(out)])
        except SystemExit as exc:  # argparse only; any other exception fails the test
            code = int(exc.code or 0)
    return code, stdout.getvalue()


def check_clear_failure(code: int, stdout: str, out: Path) -> None:
    assert code in (0, 1, 2)
    if code == 0:  # the mutation left the data valid
        assert (out / "manifest.json").is_file()
        return
    assert not out.exists() and not list(out.parent.glob(f".{out.name}.staging-*"))
    report = json.loads(stdout)
    assert report["conforms"] is False
    violations = [p for p in report["problems"] if p["severity"] == "violation"]
    assert violations and all(p["message"].strip() for p in report["problems"])
    assert [p for p in violations if p["location"] and p["location"]["file"]], violations
    assert (code == 2) == any(p["stage"] == "read" for p in violations)


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


@pytest.mark.parametrize("kind", KINDS)
@fuzz_settings(ci_examples=5)
@given(data=st.data())
def test_fuzz_invalid_yaml_is_a_clear_error_never_a_traceback(
    kind: str, data: st.DataObject
) -> None:
    case = data.draw(broken(kind, KNOWN_BUGS), label="case")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dist"
        code, stdout = build_cli(write_files(Path(tmp) / "data", case.files), out)
        event(f"exit code {code}")  # pytest --hypothesis-show-statistics shows the mix
        check_clear_failure(code, stdout, out)


# ------------------------------------------------------------------ bugs the fuzzer found


def _edited_minimal(data: Path, file: str, old: str, new: str) -> BuildResult:
    path = data / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    result = run_pipeline(data)
    assert result.report.conforms, result.report.to_text()
    return result


def _nt(result: BuildResult) -> Triples:
    return set(Graph().parse(data=result.files["graph.nt"], format="nt"))


def test_dataset_title_with_a_line_break_cannot_inject_triples(minimal_copy: Path) -> None:
    title = yaml_str('Cramps\n<https://evil.example/s> <https://evil.example/p> "injected" .')
    result = _edited_minimal(minimal_copy, "dataset.yaml", "Minimal test corpus", title)
    assert set(Graph().parse(data=result.files["graph.ttl"], format="turtle")) == _nt(result)
    void = Graph().parse(data=result.files["void.ttl"], format="turtle")
    assert not list(void.triples((URIRef("https://evil.example/s"), None, None)))


def test_base_ending_in_hash_keeps_every_iri_in_jsonld(minimal_copy: Path) -> None:
    base = '"http://example.com/a/b#"'
    result = _edited_minimal(minimal_copy, "dataset.yaml", "https://example.org/kg/", base)
    assert pyld_triples(json.loads(result.files["graph.jsonld"])) == _nt(result)


def test_small_dose_is_a_well_typed_decimal(minimal_copy: Path) -> None:
    result = _edited_minimal(
        minimal_copy, "claims/test-article.yaml", "value: 10,", "value: 0.0000001,"
    )
    doses = [o for _, p, o in _nt(result) if str(p) == "http://schema.org/doseValue"]
    assert [str(o) for o in doses] == ["0.0000001"]


def test_distinct_authors_stay_distinct_people(minimal_copy: Path) -> None:
    people = '    - name: "张三"\n      role: nurse\n    - name: "李四"\n'
    result = _edited_minimal(
        minimal_copy, "sources/article.yaml", "    - name: Ada Example\n", people
    )
    creators = {o for _, p, o in _nt(result) if str(p) == "http://purl.org/dc/terms/creator"}
    assert len(creators) == 2
