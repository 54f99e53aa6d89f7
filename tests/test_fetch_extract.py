"""HTML to snapshot text (html.parser only), and the source YAML written for a new page."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline import yamlsafe
from pipeline.fetch.charset import Decoded
from pipeline.fetch.extract import COMMENTS_HEADING, extract_html, extract_plain
from pipeline.fetch.http import Fetched
from pipeline.fetch.sourceyaml import Candidate, fetch_record, main_region, q, source_yaml

ARTICLE_PAGE = """<!doctype html>
<html lang="en-GB"><head>
<title>Why cramps happen | Example Health</title>
<meta property="og:title" content="Why cramps happen">
<meta property="og:site_name" content="Example Health">
<meta property="og:type" content="article">
<meta name="author" content="Ada Example">
<meta property="article:published_time" content="2024-03-03T10:00:00Z">
<script>var tracking = "<p>not text</p>";</script>
<style>p { color: red }</style>
</head>
<body>
<a class="skip-link screen-reader-text" href="#main">Skip to content</a>
<header class="site-header"><nav><a href="/">Home</a> <a href="/a">About</a></nav></header>
<div id="cookie-consent">We use cookies. <button>Accept</button></div>
<main id="main">
<article class="post">
  <header class="entry-header"><h1>Why cramps happen</h1>
  <p class="byline">By Ada Example, <time>3 March 2024</time></p></header>
  <p>Muscle cramps are <b>sudden</b>,
     painful contractions.<br>They pass &amp; return.</p>
  <div class="ad-slot">BUY SHOES NOW</div>
  <ul><li>Stretch<li>Massage</ul>
  <aside class="pullquote">Related: our shoe guide</aside>
  <div class="share-buttons">Share on X</div>
  <div class="newsletter-signup"><p>Get our newsletter</p></div>
  <pre>line one
    indented line</pre>
  <p hidden>Hidden text</p>
  <p style="display: none">Also hidden</p>
  <p>Last paragraph.</p>
  <a class="comments-link" href="#comments">2 comments</a>
</article>
<section id="comments" class="comments-area">
  <h2 class="comments-title">2 thoughts on this</h2>
  <ol class="comment-list">
    <li class="comment"><article class="comment-body">
      <footer class="comment-meta"><span class="comment-author">Bob</span> says:</footer>
      <div class="comment-content"><p>I get them at night.</p></div>
      <a class="comment-reply-link" href="#">Reply</a></article></li>
    <li class="comment"><p>Me too.</p></li>
  </ol>
  <div id="respond" class="comment-respond"><h3>Leave a reply</h3>
    <form class="comment-form"><textarea></textarea><input type="submit"></form></div>
</section>
</main>
<aside class="sidebar"><h3>Popular</h3><p>Other story</p></aside>
<footer class="site-footer">Copyright 2024</footer>
</body></html>
"""

EXPECTED_MAIN = """Why cramps happen

By Ada Example, 3 March 2024

Muscle cramps are sudden, painful contractions.
They pass & return.

Stretch
Massage

line one
    indented line

Last paragraph."""

EXPECTED_COMMENTS = """2 thoughts on this

Bob says:

I get them at night.

Me too."""


def test_article_page_main_text_and_comments():
    page = extract_html(ARTICLE_PAGE)
    assert page.main == EXPECTED_MAIN
    assert page.comments == EXPECTED_COMMENTS
    assert page.text == f"{EXPECTED_MAIN}\n\n{COMMENTS_HEADING}\n\n{EXPECTED_COMMENTS}\n"


def test_page_metadata():
    page = extract_html(ARTICLE_PAGE)
    assert page.title == "Why cramps happen"  # og:title before <title>, which has the site
    assert page.language == "en-GB"
    assert page.site_name == "Example Health"
    assert page.authors == ("Ada Example",)
    assert page.published == "2024-03-03T10:00:00Z"
    assert page.og_type == "article"


def test_boilerplate_never_reaches_the_text():
    text = extract_html(ARTICLE_PAGE).text
    for word in (
        "tracking",
        "color",
        "Skip to content",
        "Home",
        "cookies",
        "BUY SHOES",
        "shoe guide",
        "Share on",
        "newsletter",
        "Hidden",
        "2 comments",
        "Reply",
        "Leave a reply",
        "Popular",
        "Copyright",
    ):
        assert word not in text, word


def test_title_falls_back_to_title_then_h1():
    assert extract_html("<title> A  page </title><h1>Head</h1><p>x</p>").title == "A page"
    assert extract_html("<h1>Only <i>heading</i></h1><p>x</p>").title == "Only heading"
    assert extract_html("<p>x</p>").title is None


def test_no_comments_no_heading():
    page = extract_html("<html><body><main><p>Just text.</p></main></body></html>")
    assert (page.text, page.comments, page.language) == ("Just text.\n", "", None)


def test_largest_article_is_the_content():
    html = (
        "<body><article><p>Teaser.</p></article>"
        "<article><h1>Real</h1><p>The real article has much more text.</p></article>"
        "<p>Outside.</p></body>"
    )
    assert extract_html(html).main == "Real\n\nThe real article has much more text."


def test_main_without_article_and_body_fallback():
    assert extract_html("<body><div>Menu</div><main><p>Body</p></main></body>").main == "Body"
    assert extract_html("<div class='navbar'>N</div><div>A<div>B</div></div>").main == "A\nB"


def test_page_wide_form_wrapper_is_kept():
    html = "<body><form id='aspnetForm'><h1>Title</h1><p>Content.</p></form></body>"
    assert extract_html(html).main == "Title\n\nContent."


def test_class_tokens_not_substrings():
    html = (
        "<div class='header-image'>Kept 1</div><div class='download'>Kept 2</div>"
        "<div class='shadow'>Kept 3</div><div class='adContainer'>Dropped</div>"
        "<div class='add-info'>Kept 4</div>"
    )
    assert extract_html(html).main == "Kept 1\nKept 2\nKept 3\nKept 4"


def test_entities_whitespace_and_nbsp():
    page = extract_html("<p>A&nbsp;B &lt;C&gt; &#8220;D&#8221;\t\n E</p><p>caf&eacute;</p>")
    assert page.main == "A\u00a0B <C> \u201cD\u201d E\n\ncaf\u00e9"


def test_tables_and_definition_lists():
    html = (
        "<table><tr><th>Drug</th><th>Dose</th></tr><tr><td>Baclofen</td><td>10 mg</td></tr></table>"
    )
    assert extract_html(html).main == "Drug Dose\nBaclofen 10 mg"


def test_unclosed_tags_do_not_swallow_text():
    html = "<p>One<p>Two<div>Three</div><ul><li>a<li>b</ul><p>Four"
    assert extract_html(html).main == "One\n\nTwo\n\nThree\n\na\nb\n\nFour"  # <div> closes <p>


def test_comments_inside_the_article_are_moved_after_it():
    html = (
        "<article><p>Story.</p><div id='comments'><p>Nice!</p></div><p>End of story.</p></article>"
    )
    page = extract_html(html)
    assert page.text == "Story.\n\nEnd of story.\n\nReader comments\n\nNice!\n"


def test_recent_comments_widget_is_not_reader_comments():
    html = (
        "<main><p>Story.</p></main>"
        "<div class='widget widget_recent_comments'><p>Someone on Other post</p></div>"
    )
    page = extract_html(html)
    assert (page.main, page.comments) == ("Story.", "")


def test_plain_text():
    page = extract_plain("\n\nFirst line  \r\nsecond\r\n\r\n\r\nthird\n")
    assert page.text == "First line\nsecond\n\n\nthird\n"
    assert page.title == "First line"


# ---------------------------------------------------------------- the YAML for a new source


def make_candidate(html: str, url: str = "https://example.test/cramps") -> Candidate:
    fetched = Fetched(url, url, (), 200, "text/html", "utf-8", html.encode(), 1)
    page = extract_html(html)
    retrieved = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Candidate("example-cramps", fetched, Decoded(html, "utf-8", "header"), page, retrieved)


def test_source_yaml_is_valid_authoring_yaml():
    c = make_candidate(ARTICLE_PAGE)
    doc = yamlsafe.load(source_yaml(c)).data
    source = doc["source"]
    assert source["id"] == "example-cramps"
    assert source["text"] == "example-cramps.txt"
    assert source["sha256"] == c.sha256
    assert source["title"] == "Why cramps happen"
    assert source["publisher"] == "Example Health"
    assert source["kind"] == "editorial-article"
    assert source["language"] == "en-GB"
    assert source["url"] == "https://example.test/cramps"
    assert source["note"].startswith("TODO(curator)")
    assert source["region"] == {"start": "Why cramps happen", "end": "Last paragraph."}
    assert doc["references"] == []
    text = source_yaml(c).decode()
    assert "kind: editorial-article  # TODO(curator): guessed (og:type is article)" in text
    assert "page metadata names Ada Example" in text
    assert "published 2024-03-03T10:00:00Z" in text
    assert "#   kind: reader-comments" in text and "#   partOf: example-cramps" in text


def test_region_is_left_out_when_it_would_be_ambiguous():
    html = "<article><p>Same.</p></article><div class='comments'><p>Same.</p></div>"
    c = make_candidate(html)
    assert main_region(c) is None
    assert "add a `region` that ends before the line 'Reader comments'" in source_yaml(c).decode()


def test_guesses_are_marked():
    c = make_candidate(
        "<p>Muscle cramps are sudden painful contractions of a muscle that usually pass.</p>",
        url="https://blog.example.test/post",
    )
    text = source_yaml(c).decode()
    assert "kind: blog-post  # TODO(curator)" in text
    assert "language: en  # TODO(curator): guessed from the text" in text
    assert 'title: "TODO: title"  # TODO(curator): the page has no title' in text


def test_yaml_quoting_is_safe():
    for value in ['a "quoted" value', "back\\slash", "no: yes", "line\nbreak", "\u2028sep", "#x"]:
        assert yamlsafe.load(f"k: {q(value)}\n".encode()).data == {"k": value}


def test_fetch_record_is_deterministic_json():
    c = make_candidate(ARTICLE_PAGE)
    record = fetch_record(c).decode()
    assert record == fetch_record(c).decode()
    assert '"retrieved": "2025-01-02T03:04:05Z"' in record
    assert '"finalUrl": "https://example.test/cramps"' in record
    assert '"sha256": "' + c.sha256 + '"' in record
