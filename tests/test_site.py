"""The condition pages: markup visible and embedded safely, hostile labels kept as text, the
evidence map accessible and deterministic."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.build import BuildResult, run_pipeline
from pipeline.exporters.base import ExportContext
from pipeline.exporters.schemaorg import pages
from pipeline.markup.embed import script_element, script_json
from pipeline.markup.evidence import ConditionView
from pipeline.report import Report
from pipeline.site.svg import MAX_ROWS, evidence_map
from tests.conftest import DATA, FIXTURES, MINIMAL

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
