"""HTML (or plain text) to the text a curator quotes from, with html.parser only.

The page is parsed into a small tree; boilerplate subtrees are dropped (scripts, navigation,
ads, cookie banners, share bars, forms...); reader comments are taken out and put after a line
"Reader comments"; the main content (the largest <article>, else <main>, else <body>) is
rendered as lines of text, one block per line. Decoding bytes is in pipeline.fetch.charset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

COMMENTS_HEADING = "Reader comments"

# ---------------------------------------------------------------- a small tree


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = field(default=None, repr=False)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            if isinstance(c, Node):
                out.extend(c.walk())
        return out


VOID = _words("area base br col embed hr img input link meta param source track wbr")
# Starting one of these closes an open <p> (HTML's implied end tags, the common cases).
_CLOSES_P = _words(
    "address article aside blockquote div dl fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr main nav ol p pre section table ul"
)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]

    def _open(self, tag: str) -> bool:
        return any(n.tag == tag for n in self.stack)

    def _close(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        top = self.stack[-1].tag
        if (
            (tag in _CLOSES_P and top == "p")
            or (tag == top and tag in ("li", "p", "option"))
            or (tag in ("td", "th") and top in ("td", "th"))
        ):
            self.stack.pop()
        elif tag == "tr" and self._open("tr") and top in ("td", "th", "tr"):
            self._close("tr")
        elif tag in ("dt", "dd") and top in ("dt", "dd"):
            self.stack.pop()
        node = Node(tag, {k: v or "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._open(tag):
            self._close(tag)

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ---------------------------------------------------------------- what is boilerplate

_DROP_TAGS = _words(
    "script style noscript template nav aside iframe svg canvas button select textarea "
    "input object embed dialog head"
)
_DROP_ROLES = _words("navigation banner contentinfo complementary search dialog alertdialog")
_DROP_TOKENS = _words(
    "ad ads adv advert adverts advertisement advertising adsense adslot sponsor sponsored promo "
    "promoted banner nav navbar navigation menu breadcrumb breadcrumbs cookie cookies consent "
    "gdpr newsletter subscribe subscription signup share sharing sharebar social sidebar widget "
    "popup modal related outbrain taboola skip toolbar masthead paywall"
)
_SCREEN_READER = frozenset({"sr-only", "screen-reader-text", "visually-hidden", "visuallyhidden"})
_COMMENT_NOISE = ("form", "respond", "reply", "count", "link", "number", "open", "closed", "toggle")
_INLINE = _words("a abbr b bdi bdo cite code em i kbd mark q s small span strong sub sup time u")
_TOKEN_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")


def _tokens(node: Node) -> list[str]:
    raw = f"{node.attrs.get('class', '')} {node.attrs.get('id', '')}"
    return [t.lower() for t in _TOKEN_SPLIT.split(raw) if t]


def _names(node: Node) -> set[str]:
    return {*node.attrs.get("class", "").lower().split(), node.attrs.get("id", "").lower()}


def _in_content(node: Node) -> bool:
    p = node.parent
    while p is not None:
        if p.tag in ("article", "main") or p.attrs.get("role") == "main":
            return True
        p = p.parent
    return False


def _is_comments(node: Node) -> bool:
    """A reader-comments container (or one comment), not a form, link or counter about them."""
    if node.tag in _INLINE or node.tag in ("html", "body", "main"):
        return False
    names = [n for n in _names(node) if "comment" in n]
    if not names or any(w in n for n in names for w in _COMMENT_NOISE):
        return False
    return any(t.startswith("comment") for t in _tokens(node))


def _is_boilerplate(node: Node, in_comments: bool = False) -> bool:
    tag, attrs = node.tag, node.attrs
    if tag in _DROP_TAGS or attrs.get("role", "").lower() in _DROP_ROLES:
        return True
    if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true":
        return True
    if re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", attrs.get("style", ""), re.I):
        return True
    if tag in ("header", "footer") and not in_comments and not _in_content(node):
        return True  # the page's header and footer; an article's own header holds its title
    if tag == "form":  # ASP.NET-style pages wrap everything in one <form>: keep those
        return not any(n.tag in ("article", "main", "h1") for n in node.walk())
    names = _names(node)
    if names & _SCREEN_READER:
        return True
    about_comments = [n for n in names if "comment" in n]
    if about_comments and tag != "body":
        noise = any(w in n for n in about_comments for w in _COMMENT_NOISE)
        # inside comments, "comment-author" and the like are content; forms and links are not
        if noise or (not in_comments and not _is_comments(node)):
            return True
    return any(t in _DROP_TOKENS for t in _tokens(node))


# ---------------------------------------------------------------- rendering

_BLOCK = _words(
    "address article aside blockquote caption dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section summary "
    "table tbody tfoot thead tr ul"
)
_PARAGRAPH = _words("p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl figure hr")
_WS = re.compile(r"[ \t\n\r\f]+")  # HTML collapses ASCII whitespace only; keep no-break spaces


class _Renderer:
    def __init__(self, skip: set[int]):
        self.skip = skip
        self.lines: list[str] = []
        self.buf: list[str] = []

    def flush(self) -> None:
        line = _WS.sub(" ", "".join(self.buf)).strip()
        self.buf = []
        if line:
            self.lines.append(line)

    def gap(self) -> None:
        self.flush()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def render(self, node: Node) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.buf.append(child)
            elif id(child) not in self.skip:
                self.element(child)

    def element(self, node: Node) -> None:
        tag = node.tag
        if tag == "br":
            self.flush()
        elif tag == "pre":
            self.gap()
            self.lines.extend(line.rstrip() for line in node.text().strip("\n").splitlines())
            self.gap()
        elif tag in ("td", "th"):
            self.buf.append(" ")
            self.render(node)
            self.buf.append(" ")
        elif tag in _BLOCK:
            (self.gap if tag in _PARAGRAPH else self.flush)()
            self.render(node)
            (self.gap if tag in _PARAGRAPH else self.flush)()
        else:
            self.render(node)

    def text(self) -> str:
        self.flush()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Page:
    """What the snapshot and the source YAML are made of."""

    text: str  # main text, then "Reader comments" and the comments, ending in a newline
    main: str
    comments: str
    title: str | None
    language: str | None  # from <html lang>, as written
    site_name: str | None = None  # og:site_name
    authors: tuple[str, ...] = ()  # <meta name="author">: a hint for the curator only
    published: str | None = None  # article:published_time: a hint only
    og_type: str | None = None


def _meta(root: Node, *keys: str) -> str | None:
    for key in keys:
        for n in root.walk():
            if n.tag == "meta" and key in (n.attrs.get("property"), n.attrs.get("name")):
                value = _WS.sub(" ", n.attrs.get("content", "")).strip()
                if value:
                    return value
    return None


def _first(root: Node, tag: str) -> str | None:
    for n in root.walk():
        if n.tag == tag:
            value = _WS.sub(" ", n.text()).strip()
            if value:
                return value
    return None


def _content_root(kept: list[Node], skip: set[int]) -> Node:
    articles = [n for n in kept if n.tag == "article"]
    if articles:
        return max(articles, key=lambda n: len(_visible(n, skip)))
    for n in kept:
        if n.tag == "main" or n.attrs.get("role") == "main":
            return n
    return next((n for n in kept if n.tag == "body"), kept[0])


def _visible(node: Node, skip: set[int]) -> str:
    r = _Renderer(skip)
    r.render(node)
    return r.text()


def _triage(root: Node) -> tuple[list[Node], list[Node], set[int]]:
    """One pass: the kept nodes, the outermost comment sections and the dropped subtrees."""
    kept: list[Node] = [root]
    sections: list[Node] = []
    dropped: set[int] = set()

    def visit(node: Node, in_comments: bool) -> None:
        for child in node.children:
            if not isinstance(child, Node):
                continue
            if _is_boilerplate(child, in_comments):
                dropped.add(id(child))
            elif not in_comments and _is_comments(child):
                sections.append(child)
                visit(child, True)
            else:
                if not in_comments:
                    kept.append(child)
                visit(child, in_comments)

    visit(root, False)
    return kept, sections, dropped


def extract_html(html: str) -> Page:
    root = parse(html)
    kept, sections, dropped = _triage(root)
    skip = dropped | {id(n) for n in sections}
    main = _visible(_content_root(kept, skip), skip)
    comments = "\n\n".join(t for t in (_visible(n, dropped) for n in sections) if t)
    html_node = next((n for n in root.walk() if n.tag == "html"), None)
    authors = _meta(root, "author", "article:author")
    return Page(
        text=_join(main, comments),
        main=main,
        comments=comments,
        title=_meta(root, "og:title") or _first(root, "title") or _first(root, "h1"),
        language=(html_node.attrs.get("lang") or html_node.attrs.get("xml:lang") or None)
        if html_node
        else None,
        site_name=_meta(root, "og:site_name"),
        authors=(authors,) if authors else (),
        published=_meta(root, "article:published_time", "datePublished"),
        og_type=_meta(root, "og:type"),
    )


def extract_plain(text: str) -> Page:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    main = "\n".join(lines).strip("\n")
    title = next((line.strip() for line in lines if line.strip()), None)
    return Page(text=_join(main, ""), main=main, comments="", title=title, language=None)


def _join(main: str, comments: str) -> str:
    parts = [main] + ([COMMENTS_HEADING, comments] if comments else [])
    return "\n\n".join(p for p in parts if p) + "\n"
