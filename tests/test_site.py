"""The condition pages: markup visible and embedded safely, hostile labels kept as text, the
evidence map accessible and deterministic."""

from __future__ import annotations

import json
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyld import jsonld
from rdflib import Graph, Literal

from pipeline.build import BuildResult, run_pipeline
from pipeline.exporters.base import ExportContext
from pipeline.exporters.schemaorg import pages
from pipeline.markup.embed import script_element, script_json
from pipeline.markup.evidence import ConditionView
from pipeline.report import Location, Report, Stage
from pipeline.site.svg import MAX_ROWS, evidence_map
from tests.conftest import DATA, FIXTURES, MINIMAL
from tests.fuzzgen import yaml_str

HOSTILE = FIXTURES / "hostile"
URL_KEYS = {"sameAs", "url"}  # coerced to IRIs by the schema.org context: links on the page
ALLOWED_TAGS = {
    *[
        "html",
        "head",
        "meta",
        "title",
        "style",
        "script",
        "link",
        "body",
        "header",
        "main",
        "footer",
        "section",
        "figure",
    ],
    *[
        "figcaption",
        "em",
        "h1",
        "h2",
        "div",
        "p",
        "ul",
        "ol",
        "li",
        "a",
        "span",
        "bdi",
        "blockquote",
        "cite",
        "i",
        "code",
        "table",
        "tr",
        "th",
        "td",
    ],
    *["svg", "desc", "g", "line", "text", "circle", "rect", "path"],
}


class Page(HTMLParser):
    """What a reader (and a crawler) sees: visible text, links, scripts, tags."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hrefs: list[str] = []
        self.scripts: list[tuple[str, str]] = []  # (type, text)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self._hidden = 0  # inside head, style, script, or an SVG title/desc
        self._stack: list[str] = []
        self._script: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("meta", "link"):
            return
        hidden = tag in ("head", "style", "script") or (
            tag in ("title", "desc") and "svg" in self._stack
        )
        self._stack.append(tag)
        self._hidden += hidden
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]
        if tag == "script":
            self._script = [dict(attrs).get("type") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("meta", "link") or tag not in self._stack:
            return
        while self._stack:
            top = self._stack.pop()
            self._hidden -= top in ("head", "style", "script") or (
                top in ("title", "desc") and "svg" in self._stack
            )
            if top == "script" and self._script is not None:
                self.scripts.append((self._script[0], self._script[1]))
                self._script = None
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1] += data
        elif not self._hidden:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return normalise("".join(self.chunks))

    def jsonld(self) -> list[Any]:
        return [json.loads(text) for kind, text in self.scripts if kind == "application/ld+json"]


def normalise(text: str) -> str:
    return " ".join(text.split())


def leaf_values(doc: Any, key: str = "") -> list[tuple[str, str]]:
    """(property, value) for every value the markup states, identifiers and types aside."""
    if isinstance(doc, dict):
        return [
            pair
            for k, v in doc.items()
            if k not in ("@context", "@type", "@id")
            for pair in leaf_values(v, k)
        ]
    if isinstance(doc, list):
        return [pair for item in doc for pair in leaf_values(item, key)]
    return [(key, str(doc))]


def invisible_values(doc: dict[str, Any], html: str) -> list[tuple[str, str]]:
    page = Page(html)
    missing = []
    for key, value in leaf_values(doc):
        if key in URL_KEYS:
            if value not in page.hrefs or normalise(value) not in page.text:
                missing.append((key, value))
        elif normalise(value) not in page.text:
            missing.append((key, value))
    return missing


def _build(data: Path, **kwargs: Any) -> BuildResult:
    result = run_pipeline(data, **kwargs)
    assert result.report.conforms, result.report.to_text()
    return result


@pytest.fixture(scope="module")
def results() -> dict[str, BuildResult]:
    return {
        "minimal": _build(MINIMAL, validate=False),  # SHACL is tested elsewhere
        "hostile": _build(HOSTILE, validate=False),
        "corpus": _build(DATA, validate=False, exporters=["schemaorg", "site"]),
    }


@pytest.fixture(scope="module")
def builds(results: dict[str, BuildResult]) -> dict[str, dict[str, bytes]]:
    return {name: r.files for name, r in results.items()}


def _condition_pages(files: dict[str, bytes]) -> dict[str, tuple[str, dict[str, Any]]]:
    """condition id -> (page HTML, markup file)."""
    out = {}
    for name, data in files.items():
        if m := re.fullmatch(r"schemaorg/(.+)\.jsonld", name):
            out[m[1]] = (files[f"site/{m[1]}.html"].decode(), json.loads(data))
    return out


@pytest.mark.parametrize("build", ["minimal", "hostile", "corpus"])
def test_every_markup_value_is_visible_on_its_page(
    builds: dict[str, dict[str, bytes]], build: str
) -> None:
    found = _condition_pages(builds[build])
    assert found
    for cid, (html, doc) in found.items():
        assert invisible_values(doc, html) == [], cid


@pytest.mark.parametrize("build", ["minimal", "hostile", "corpus"])
def test_each_page_embeds_exactly_its_markup_file(
    builds: dict[str, dict[str, bytes]], build: str
) -> None:
    files = builds[build]
    found = _condition_pages(files)
    assert {f"site/{cid}.html" for cid in found} | {"site/index.html"} == {
        n for n in files if n.startswith("site/")
    }
    for html, doc in found.values():
        assert Page(html).jsonld() == [doc]


def test_hostile_labels_cannot_break_out(builds: dict[str, dict[str, bytes]]) -> None:
    html, doc = _condition_pages(builds["hostile"])["muscle-cramp"]
    label = "Muscle cramp </script><script>alert(1)</script>"
    assert doc["about"]["name"] == label
    # one script element, and it is the JSON-LD: nothing the data says opened another
    assert html.count("<script") == 1 and html.count("</script") == 1
    start = html.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    raw = html[start : html.index("</script>")]
    assert not set(raw) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(raw) == doc  # no HTML entities inside the JSON
    page = Page(html)
    for tag, attrs in page.tags:
        assert tag in ALLOWED_TAGS, tag
        assert not [k for k, _ in attrs if k.startswith("on")], (tag, attrs)
    text = page.text
    for hostile in (
        label,
        "<!-- not a comment",
        "Tom & \"Jerry\" 'quoted' &amp; &lt;",
        normalise("line\u2028separator\u2029paragraph"),
        "\u202eevil\u202c reversed",
        "Dehydration <svg onload=alert(3)>",
        "A <b>sudden</b> & painful contraction; </SCRIPT > <!-- --> ]]> \\u003c",
    ):
        assert normalise(hostile) in text, hostile
    # every label with a direction mark is isolated, so it cannot reorder the text around it
    assert "<bdi>\u202eevil\u202c reversed</bdi>" in html
    assert "<bdi>\u200frtl mark \u05d0\u05d1</bdi>" in html


def test_hostile_index_and_svg_are_escaped(builds: dict[str, dict[str, bytes]]) -> None:
    index = builds["hostile"]["site/index.html"].decode()
    assert "<script" not in index
    assert "Hostile &lt;/title&gt; corpus &amp; co &lt;!--" in index
    html = builds["hostile"]["site/muscle-cramp.html"].decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<svg onload" not in svg and "&lt;svg onload=alert(3)&gt;" in svg


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_script_json_round_trips_through_an_html_parser(doc: Any) -> None:
    text = script_json(doc)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    parsed = Page(f"<html><head>{script_element(doc)}</head><body></body></html>")
    assert parsed.jsonld() == [doc]


def test_contested_relations_are_visibly_marked(builds: dict[str, dict[str, bytes]]) -> None:
    html, doc = _condition_pages(builds["corpus"])["muscle-cramp"]
    disputed = re.findall(r'<li class="rel st-disputed">.*?</li>', html)
    assert disputed and all('<span class="badge b-disputed">Disputed</span>' in d for d in disputed)
    assert '<span class="badge b-hypothesis">Hypothesis</span>' in html
    for statement in doc["about"]["pathophysiology"]:
        assert statement.startswith(("Disputed (", "Hypothesis (", "Reported ("))


def test_links_stay_inside_the_site(builds: dict[str, dict[str, bytes]]) -> None:
    files = builds["corpus"]
    for name, data in files.items():
        if not name.startswith("site/"):
            continue
        page = Page(data.decode())
        for href in page.hrefs:
            assert href.startswith(("http://", "https://")) or f"site/{href}" in files, href
        assert not [a for _, attrs in page.tags for a in attrs if a[0] == "src"], name
        assert "Content-Security-Policy" in data.decode()
    index = Page(files["site/index.html"].decode())
    assert sorted(index.hrefs) == sorted(
        n.removeprefix("site/") for n in files if n.startswith("site/") and "index" not in n
    )


@pytest.fixture(scope="module")
def corpus_views(results: dict[str, BuildResult]) -> list[ConditionView]:
    corpus = results["corpus"]
    assert corpus.corpus is not None and corpus.graph is not None
    return pages(ExportContext(corpus.corpus, corpus.graph, Report(), "test")).views


def test_evidence_map_is_accessible_and_deterministic(corpus_views: list[ConditionView]) -> None:
    view = next(v for v in corpus_views if v.entity.id == "muscle-cramp")
    svg = evidence_map(view)
    assert svg == evidence_map(view)
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="map-title map-desc"' in svg
    assert '<title id="map-title">Evidence map: Muscle cramp</title>' in svg
    desc = re.search(r'<desc id="map-desc">(.*?)</desc>', svg, re.S)
    assert desc and "independent sources" in desc[1]
    # the legend names every status drawn; the causes group shows its disputes too
    for label in ("Supported", "Disputed", "Hypothesis"):
        assert f">{label}</text>" in svg
    causes = [r for r in view.relations("causes") if r.target]
    assert len(causes) > MAX_ROWS
    drawn = [r for r in causes if f"<title>{r.label}:" in svg]
    assert len(drawn) == MAX_ROWS
    assert {"supported", "disputed", "hypothesis"} <= {r.status for r in drawn}
    assert f"+ {len(causes) - MAX_ROWS} more in the list below" in svg
    # dash patterns tell the statuses apart without colour; badges give the source counts
    assert 'stroke-dasharray="9 4 2 4"' in svg and 'stroke-dasharray="2 4"' in svg
    backed = max(causes, key=lambda r: len(r.backing))
    assert f'text-anchor="middle" font-size="11">{len(backed.backing)}</text>' in svg


def test_copies_and_comments_do_not_count_as_independent(
    corpus_views: list[ConditionView],
) -> None:
    for view in corpus_views:
        for rel in view.relations():
            kinds = {c.source.kind for c in rel.claims}
            assert "reader-comments" not in kinds
            assert "healthboard-copy" not in rel.backing + rel.disputing


def test_the_visibility_check_can_fail(builds: dict[str, dict[str, bytes]]) -> None:
    html, doc = _condition_pages(builds["minimal"])["muscle-cramp"]
    assert invisible_values({**doc, "name": "Nowhere on the page"}, html) == [
        ("name", "Nowhere on the page")
    ]
    linkless = {**doc, "about": {**doc["about"], "sameAs": ["https://example.org/elsewhere"]}}
    assert invisible_values(linkless, html) == [("sameAs", "https://example.org/elsewhere")]


# ------------------------------------------------------------------ issue 9, case 4

HOSTILE_TEXTS = {
    "script-end-tag": "Cramp </script><script>alert(1)</script>",
    "comment-open": "Cramp <!-- hidden",
    "line-separators": "Cramp\u2028line\u2029paragraph",
    "amp-quotes": "Tom & \"Jerry\" 'quoted' &amp; &lt;",
    "right-to-left-marks": "\u202eevil\u202c \u200frtl \u05d0\u05d1",
    "10000-characters": ("Cramp </script> & \u2028 <!-- \u202e " * 400)[:10_000],
}
SKOS = "http://www.w3.org/2004/02/skos/core#"


def _with_text(data: Path, text: str) -> dict[str, bytes]:
    """The minimal corpus with `text` as a label, alternate name, description and titles."""
    quoted = yaml_str(text)
    description = "description: A sudden, involuntary, painful contraction of a muscle."
    edits = [
        ("entities/entities.yaml", "label: Muscle cramp", f"label: {quoted}"),
        ("entities/entities.yaml", "[Charley horse]", f"[{quoted}]"),
        ("entities/entities.yaml", description, f"description: {quoted}"),
        ("dataset.yaml", "title: Minimal test corpus", f"title: {quoted}"),
        ("sources/article.yaml", "title: Leg cramps explained", f"title: {quoted}"),
    ]
    for file, old, new in edits:
        path = data / file
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new, 1))
    return _build(data).files


@pytest.mark.parametrize("case", list(HOSTILE_TEXTS))
def test_hostile_text_published_exactly_and_safe(case: str, minimal_copy: Path) -> None:
    text = HOSTILE_TEXTS[case]
    files = _with_text(minimal_copy, text)
    # published exactly: the JSON-LD, expanded by pyld (nothing fetched), holds the very string
    refuse = {"documentLoader": lambda url, options=None: pytest.fail(f"fetched {url}")}
    nodes = jsonld.expand(json.loads(files["graph.jsonld"]), refuse)
    node = next(n for n in nodes if n["@id"] == "https://example.org/kg/entity/muscle-cramp")
    for prop in ("prefLabel", "altLabel", "definition"):
        assert node[SKOS + prop] == [{"@value": text, "@language": "en"}], prop
    assert Literal(text, lang="en") in set(
        Graph().parse(data=files["graph.nt"], format="nt").objects()
    )
    markup = json.loads(files["schemaorg/muscle-cramp.jsonld"])
    about = markup["about"]
    assert (about["name"], about["alternateName"], about["description"]) == (text, [text], text)
    assert markup["isBasedOn"][0]["name"] == text
    # safe in every page: one script (the JSON-LD, equal to its file), no comment, no new tag
    for name, data in files.items():
        if not name.startswith("site/"):
            continue
        html = data.decode()
        scripts = 0 if name == "site/index.html" else 1
        assert html.lower().count("<script") == html.lower().count("</script") == scripts
        assert "<!--" not in html and f"<bdi>{escape(text)}</bdi>" in html
        page = Page(html)
        assert page.jsonld() == ([] if name == "site/index.html" else [markup])
        for tag, attrs in page.tags:
            assert tag in ALLOWED_TAGS and not [k for k, _ in attrs if k.startswith("on")]
        assert normalise(text) in page.text
    html = files["site/muscle-cramp.html"].decode()
    raw = html[html.index("<script") : html.index("</script>")].split(">", 1)[1]
    assert not set(raw) & {"<", ">", "&", "\u2028", "\u2029"}


def test_label_over_10000_characters_is_a_schema_error(minimal_copy: Path) -> None:
    path = minimal_copy / "entities/entities.yaml"
    path.write_text(path.read_text().replace("label: Pain", f"label: {'x' * 10_001}"))
    line = path.read_text().splitlines().index(f"    label: {'x' * 10_001}") + 1
    problems = run_pipeline(minimal_copy).report.problems
    assert [(p.rule, p.location) for p in problems if p.stage is Stage.SCHEMA] == [
        ("schema-maxLength", Location("data/entities/entities.yaml", line, 12))
    ]
