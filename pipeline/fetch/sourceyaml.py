"""The source YAML and the `.fetch.json` sidecar written for a newly fetched page.

The YAML follows docs/authoring.md and passes the loader as written; whatever could only be
guessed (kind, language without <html lang>, title) is marked with a `TODO(curator)` comment,
and the `note` starts with TODO so an unfinished record is easy to find.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from requests.utils import requote_uri

from pipeline import __version__
from pipeline.fetch.charset import Decoded
from pipeline.fetch.extract import COMMENTS_HEADING, Page
from pipeline.fetch.http import Fetched
from pipeline.quotes import NormalisedText, normalise, region_bounds
from pipeline.values import iri_problem, language_tag_problem

KINDS_DOC = "docs/authoring.md"


@dataclass(frozen=True)
class Candidate:
    """One fetched and extracted page, ready to be written as a snapshot."""

    source_id: str
    fetched: Fetched
    decoded: Decoded
    page: Page
    retrieved: datetime

    @property
    def data(self) -> bytes:
        return self.page.text.encode("utf-8")

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.data).hexdigest()


def timestamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch_record(c: Candidate) -> bytes:
    """The sidecar: what the authoring schema has no field for."""
    f = c.fetched
    record: dict[str, Any] = {
        "sourceId": c.source_id,
        "url": f.url,
        "finalUrl": f.final_url,
        "redirects": list(f.redirects),
        "retrieved": timestamp(c.retrieved),
        "status": f.status,
        "contentType": f.media_type,
        "charset": c.decoded.encoding,
        "charsetFrom": c.decoded.how,
        "bytes": len(f.body),
        "sha256": c.sha256,
        "readerComments": bool(c.page.comments),
        "tool": f"crampkg {__version__}",
    }
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def q(value: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is a subset of it)."""
    out = json.dumps(value, ensure_ascii=False)
    # YAML treats U+0085, U+2028 and U+2029 as line breaks; escape every non-printable char
    return "".join(ch if ch.isprintable() or ord(ch) < 128 else f"\\u{ord(ch):04x}" for ch in out)


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language(page: Page) -> tuple[str, str]:
    """A BCP 47 tag and where it came from (a TODO when guessed)."""
    tag = (page.language or "").strip().replace("_", "-")
    if tag and language_tag_problem(tag) is None:  # the rule the build applies
        return tag, "from <html lang>"
    guess, _ = _identifier().classify(page.main[:20000] or "empty")
    return str(guess), "TODO(curator): guessed from the text; the page declares no language"


def kind(c: Candidate) -> tuple[str, str]:
    """A guess at the source kind, always with a TODO: the schema needs one of the kinds."""
    og = (c.page.og_type or "").lower()
    where = f"{urlsplit(c.fetched.final_url).netloc}{urlsplit(c.fetched.final_url).path}".lower()
    if "blog" in og or "blog" in where:
        return "blog-post", "TODO(curator): guessed from 'blog' in the URL or og:type"
    why = "og:type is article" if og == "article" else "no hint on the page"
    return "editorial-article", f"TODO(curator): guessed ({why}); see the kinds in {KINDS_DOC}"


def main_region(c: Candidate) -> tuple[str, str] | None:
    """start/end that cut the main text off before the reader comments, if unambiguous.

    The first and last lines, else the shortest runs of opening and closing words that work
    (they may span lines: regions match whitespace-insensitively).
    """
    if not c.page.comments:
        return None
    lines = [line.strip() for line in c.page.main.split("\n") if line.strip()]
    words = c.page.main.split()
    text = NormalisedText.of(c.page.text)
    want = (0, len(normalise(c.page.main)))
    tries = [(lines[0], lines[-1])] + [
        (" ".join(words[:n]), " ".join(words[-n:])) for n in (4, 8, 16, 32)
    ]
    for start, end in tries:
        if region_bounds(text, start, end) == want:
            return start, end
    return None


def source_yaml(c: Candidate) -> bytes:
    p, sid = c.page, c.source_id
    lang, lang_why = language(p)
    kind_value, kind_why = kind(c)
    url = c.fetched.url if iri_problem(c.fetched.url) is None else requote_uri(c.fetched.url)
    out = [
        f"# Written by `crampkg fetch` on {timestamp(c.retrieved)}; "
        f"HTTP details are in {sid}.fetch.json.",
        "# TODO(curator): check every field against the text, fill in authors, dates and",
        "# audience, mark boilerplate, then delete the TODO comments and the TODO note.",
        "source:",
        f"  id: {sid}",
        f"  text: {q(sid + '.txt')}",
        f"  sha256: {q(c.sha256)}",
    ]
    if p.title:
        out.append(f"  title: {q(p.title)}")
    else:
        out.append(f"  title: {q('TODO: title')}  # TODO(curator): the page has no title")
    if p.site_name:
        out.append(f"  publisher: {q(p.site_name)}  # from og:site_name")
    authors = f"  # TODO(curator): page metadata names {', '.join(p.authors)}" if p.authors else ""
    out += [f"  authors: []{authors}", "  reviewers: []"]
    if p.published:
        out.append(
            f"  # TODO(curator): page metadata says published {p.published}; "
            "record only dates the text states"
        )
    out += [
        "  # audience: TODO(curator) patient | clinician | general-public | athlete",
        f"  kind: {kind_value}  # {kind_why}",
        f"  language: {lang}  # {lang_why}",
    ]
    if iri_problem(url) is None:
        out.append(f"  url: {q(url)}")
    region = main_region(c)
    if region:
        out += [
            "  region:  # the article only: reader comments follow",
            f"    start: {q(region[0])}",
            f"    end: {q(region[1])}",
        ]
    elif p.comments:
        out.append(
            f"  # TODO(curator): add a `region` that ends before the line {COMMENTS_HEADING!r}"
        )
    note = "TODO(curator): fetched by crampkg fetch; review the record and replace this note."
    out += [f"  note: {q(note)}", "references: []"]
    if p.comments:
        out += [
            "",
            f"# The snapshot has reader comments after the line {COMMENTS_HEADING!r}. To model",
            f"# them, put this in {sid}-comments.yaml (same text and sha256):",
            "# source:",
            f"#   id: {sid}-comments",
            f"#   text: {q(sid + '.txt')}",
            f"#   sha256: {q(c.sha256)}",
            f"#   title: {q('Reader comments on ' + (p.title or sid))}",
            "#   kind: reader-comments",
            f"#   language: {lang}",
            f"#   partOf: {sid}",
            "#   region:",
            f"#     start: {q(COMMENTS_HEADING)}",
            "#     end: null",
            "# references: []",
        ]
    return ("\n".join(out) + "\n").encode("utf-8")
