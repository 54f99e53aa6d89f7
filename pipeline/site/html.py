"""The pages: an index and one readable page per condition, each carrying its markup.

Every text from the data is HTML-escaped and wrapped in `<bdi>`, so markup characters stay
text and a right-to-left mark in a label cannot reorder the words around it; the JSON-LD goes
through `pipeline.markup.embed`. A Content-Security-Policy forbids scripts and remote loads:
the pages need neither. Everything the markup says is printed on the page (search engines
require it; tests/test_site.py checks it).
"""

from __future__ import annotations

from html import escape
from typing import Any

from pipeline.markup.embed import script_element
from pipeline.markup.evidence import (
    STATUS_LABELS,
    ConditionView,
    Relation,
    Section,
    ShownClaim,
    source_label,
)
from pipeline.markup.markup import code_iri, doi_url, entity_iri, page_name
from pipeline.markup.policy import AUDIENCES, InclusionPolicy
from pipeline.model import Corpus, Reference, Source
from pipeline.site.svg import evidence_map

SEP = " \u00b7 "
STANCE_WORDS = {
    "supports": "states it",
    "hypothesis": "proposes it",
    "disputes": "disputes it",
    "mentions": "mentions it",
}
CSS = """
:root{color-scheme:light;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg)}
header.site,footer.site{background:#24292f;color:#fff;padding:.6rem 1.5rem}
header.site a,footer.site a{color:#fff}
main{max-width:62rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:2rem;line-height:1.2;margin:1rem 0 .3rem}
h2{font-size:1.35rem;border-bottom:1px solid var(--line);padding-bottom:.25rem;margin-top:2.2rem}
.aka,.muted,.cite,.rel-count,figcaption{color:var(--muted)}
.lead{font-size:1.1rem}
.notice{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem}
figure{margin:1rem 0;overflow-x:auto}
figure svg{max-width:100%;height:auto}
ul.rels{list-style:none;padding:0}
li.rel{border:1px solid var(--line);border-left:6px solid #1a7f37;border-radius:6px;
 padding:.5rem .9rem;margin:.6rem 0}
li.st-reported{border-left-color:#0969da}
li.st-hypothesis{border-left-color:#9a6700;border-left-style:dotted}
li.st-disputed{border-left-color:#cf222e;border-left-style:dashed;background:#fffafa}
li.st-mentioned{border-left-color:#6e7781}
.rel-name{font-weight:600}
.badge{display:inline-block;font-size:.75rem;font-weight:700;text-transform:uppercase;
 letter-spacing:.03em;border-radius:999px;padding:.05rem .55rem;margin-right:.4rem;color:#fff}
.b-supported{background:#1a7f37}.b-reported{background:#0969da}.b-hypothesis{background:#9a6700}
.b-disputed{background:#cf222e}.b-mentioned{background:#6e7781}
.tag{font-size:.8rem;border:1px solid var(--line);border-radius:4px;padding:0 .3rem}
.statement{margin:.3rem 0;font-style:italic}
ul.evidence{list-style:none;padding-left:.8rem;margin:.3rem 0;font-size:.95rem}
ul.evidence li{margin:.35rem 0}
blockquote{margin:0;padding-left:.7rem;border-left:3px solid var(--line)}
li.copy blockquote{border-left-style:dotted}
.stance{font-weight:600}
table{border-collapse:collapse}
td,th{border:1px solid var(--line);padding:.25rem .6rem;text-align:left}
ol.refs li,ul.sources li{margin:.35rem 0}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _bdi(text: object) -> str:
    return f"<bdi>{_e(text)}</bdi>"


def _link(url: str, text: str | None = None) -> str:
    return f'<a href="{_e(url)}">{_bdi(text if text is not None else url)}</a>'


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _document(title: str, body: str, head_extra: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:\">\n"
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n{head_extra}</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _reference_text(ref: Reference) -> str:
    return ref.title or ref.citation or ref.id


def _cited(corpus: Corpus, shown: ShownClaim) -> list[str]:
    out = []
    for ev in shown.claim.evidence:
        for rid in ev.references:
            ref = corpus.references[rid]
            if ref.kind == "named-mention":
                options = "; ".join(_reference_text(corpus.references[c]) for c in ref.candidates)
                text = f"cites \u201c{ref.mention or ref.id}\u201d (not identified"
                out.append(_e(text + (f"; one of: {options})" if options else ")")))
            else:
                out.append(f"cites {_bdi(_reference_text(ref))}")
        out += [f"citation marker [{_e(m)}] not found in its references" for m in ev.unresolved]
    return out


def _evidence(corpus: Corpus, shown: ShownClaim) -> str:
    c, src = shown.claim, shown.source
    bits = [f'<span class="stance">{_bdi(source_label(src))} {STANCE_WORDS[c.stance]}</span>']
    if not shown.independent:
        original = corpus.sources.get(src.copy_of or "")
        of = f" of {_bdi(source_label(original))}" if original else ""
        bits.append(f"a copy{of}, not counted as an independent source")
    if c.population:
        bits.append(f"population: {_bdi(c.population)}")
    if c.dose:
        qualifier = f" ({_bdi(c.dose.qualifier)})" if c.dose.qualifier else ""
        bits.append(f"dose: {_number(c.dose.value)} {_bdi(c.dose.unit)}{qualifier}")
    bits += _cited(corpus, shown)
    quotes = "".join(
        f"<blockquote>\u201c{_bdi(ev.exact or ev.quote)}\u201d</blockquote>" for ev in c.evidence
    )
    cls = "" if shown.independent else ' class="copy"'
    return f'<li{cls}>{quotes}<p class="cite">{SEP.join(bits)}</p></li>'


def _relation(corpus: Corpus, rel: Relation, pages: set[str]) -> str:
    if rel.target is not None:
        name = (
            _link(f"{rel.target.id}.html", rel.target.label)
            if rel.target.id in pages
            else _bdi(rel.target.label)
        )
    else:
        name = _bdi(rel.label) if rel.status == "supported" else ""
    n = len(rel.backing)
    count = f"backed by {_plural(n, 'independent source')}"
    if rel.disputing:
        count += f", disputed by {_plural(len(rel.disputing), 'independent source')}"
    tags = ""
    if set(rel.predicates) == {"has-mechanism"}:
        tags = ' <span class="tag">mechanism</span>'
    head = (
        f'<div class="rel-head"><span class="badge b-{rel.status}">'
        f"{STATUS_LABELS[rel.status]}</span>"
        f'<span class="rel-name">{name}</span>{tags} <span class="rel-count">({count})</span></div>'
    )
    statement = f'<p class="statement">{_bdi(rel.wording)}</p>' if rel.status != "supported" else ""
    qualifier = f'<p class="qualifier">{_bdi(rel.qualifier)}</p>' if rel.qualifier else ""
    evidence = "".join(_evidence(corpus, c) for c in rel.claims)
    return (
        f'<li class="rel st-{rel.status}">{head}{statement}{qualifier}'
        f'<ul class="evidence">{evidence}</ul></li>'
    )


def _section(corpus: Corpus, section: Section, rels: tuple[Relation, ...], pages: set[str]) -> str:
    items = "\n".join(_relation(corpus, r, pages) for r in rels)
    return (
        f'<section id="{section.key}"><h2>{_e(section.title)}</h2>\n'
        f'<ul class="rels">\n{items}\n</ul></section>'
    )


def _identifiers(view: ConditionView, about: dict[str, Any], base: str) -> str:
    same_as = set(about.get("sameAs", []))
    codes = {(c["codingSystem"], c["codeValue"]) for c in about.get("code", [])}
    rows = []
    for c in view.entity.codes:
        iri = code_iri(c.system, c.code)
        if (c.system, c.code) not in codes and iri not in same_as:
            continue
        link = _link(iri) if iri in same_as else '<span class="muted">\u2014</span>'
        rows.append(
            f"<tr><td>{_bdi(c.system)}</td><td>{_bdi(c.code)}</td>"
            f"<td>{_bdi(c.label or '')}</td><td>{_e(c.match)} match</td><td>{link}</td></tr>"
        )
    table = (
        "<table><tr><th>System</th><th>Code</th><th>Label there</th><th>Mapping</th>"
        f"<th>Same as</th></tr>{''.join(rows)}</table>"
        if rows
        else '<p class="muted">No standard code is recorded for this condition.</p>'
    )
    iri = entity_iri(base, view.entity)
    return (
        f'<section id="identifiers"><h2>Identifiers</h2>{table}'
        f"<p>Permanent identifier in the knowledge graph: {_link(iri)}</p></section>"
    )


def _source_item(src: Source) -> str:
    parts = [f"\u201c{_bdi(src.title)}\u201d"]
    if src.publisher:
        parts.append(_bdi(src.publisher))
    if src.authors:
        parts.append("by " + ", ".join(_bdi(p.name) for p in src.authors))
    if src.published:
        parts.append(f"published {_e(src.published)}")
    if src.updated:
        parts.append(f"updated {_e(src.updated)}")
    if src.url:
        parts.append(_link(src.url))
    return f"<li>{SEP.join(parts)}</li>"


def _reference_item(ref: Reference) -> str:
    head = ", ".join(_bdi(a) for a in ref.authors)
    if ref.year is not None:
        head += f" ({ref.year:04d})"
    parts = [head.strip()] if head.strip() else []
    parts.append(f"<cite>{_bdi(ref.title or ref.citation or ref.id)}</cite>")
    if ref.container:
        parts.append(f"<i>{_bdi(ref.container)}</i>")
    parts += [_link(doi_url(ref.doi))] if ref.doi else []
    parts += [_link(ref.url)] if ref.url else []
    return f"<li>{'. '.join(parts)}</li>"


def _about(policy: InclusionPolicy, doc: dict[str, Any], vocab_version: str) -> str:
    reviewed = (
        f"Last reviewed: {_e(policy.last_reviewed)}"
        + (f" by {_bdi(policy.reviewed_by)}" if policy.reviewed_by else "")
        if policy.last_reviewed
        else "Not yet reviewed by a medical editor."
    )
    address = f"<li>Address of this page: {_link(doc['url'])}</li>" if "url" in doc else ""
    return (
        '<section id="about-page"><h2>About this page</h2><ul>'
        f"<li>Written for: {_e(AUDIENCES[policy.audience])}</li><li>{reviewed}</li>{address}"
        "<li>Compiled from the sources above. Reader comments are never used and copies of "
        "other articles never count as independent support. Only links that independent "
        "sources state as fact, and none disputes, are given as established; hypotheses "
        "and disputed links are marked as such.</li>"
        f"<li>Structured data: schema.org {_e(vocab_version)} <code>MedicalWebPage</code>, "
        "checked against the vocabulary when the page was built.</li></ul></section>"
    )


def condition_page(
    view: ConditionView,
    doc: dict[str, Any],
    *,
    corpus: Corpus,
    policy: InclusionPolicy,
    pages: set[str],
    base: str,
    site_title: str,
    vocab_version: str,
) -> str:
    e = view.entity
    about = doc["about"]
    aka = (
        f'<p class="aka">Also called: {", ".join(_bdi(a) for a in e.alt_labels)}</p>'
        if e.alt_labels
        else ""
    )
    lead = f'<p class="lead">{_bdi(e.description)}</p>' if e.description else ""
    figure = (
        f"<figure>{evidence_map(view)}<figcaption>Evidence map: what the sources link to "
        f"{_bdi(e.label)}. Each link shows whether it is supported, a hypothesis or disputed, "
        "and how many independent sources back it.</figcaption></figure>"
    )
    sections = "\n".join(_section(corpus, s, rels, pages) for s, rels in view.sections)
    sources = "".join(_source_item(s) for s in view.sources)
    refs = (
        '<section id="references"><h2>References cited by these sources</h2>'
        f'<ol class="refs">{"".join(_reference_item(r) for r in view.references)}</ol></section>'
        if view.references
        else ""
    )
    name = doc["name"]
    assert name == page_name(e)
    body = (
        f'<header class="site"><a href="index.html">{_bdi(site_title)}</a></header>\n<main>\n'
        f"<h1>{_bdi(e.label)}: what the sources say</h1>\n{aka}{lead}\n"
        '<p class="notice">This page sums up what independent health articles say, claim by '
        "claim, with their own words. It is not medical advice.</p>\n"
        f"{figure}\n{sections}\n{_identifiers(view, about, base)}\n"
        f'<section id="sources"><h2>Sources</h2><ul class="sources">{sources}</ul></section>\n'
        f"{refs}\n{_about(policy, doc, vocab_version)}\n</main>\n"
        f'<footer class="site">{_bdi(site_title)}</footer>'
    )
    canonical = f'<link rel="canonical" href="{_e(doc["url"])}">\n' if "url" in doc else ""
    return _document(name, body, canonical + script_element(doc) + "\n")


def index_page(views: list[ConditionView], *, site_title: str, description: str | None) -> str:
    items = []
    for v in views:
        rels = v.relations()
        established = sum(r.status == "supported" for r in rels)
        contested = sum(r.status in ("disputed", "hypothesis") for r in rels)
        desc = f" \u2014 {_bdi(v.entity.description)}" if v.entity.description else ""
        items.append(
            f"<li>{_link(f'{v.entity.id}.html', v.entity.label)}{desc} "
            f'<span class="muted">({established} established, {contested} contested)</span></li>'
        )
    intro = f'<p class="lead">{_bdi(description)}</p>' if description else ""
    body = (
        f'<header class="site">{_bdi(site_title)}</header>\n<main>\n<h1>{_bdi(site_title)}</h1>'
        f"\n{intro}\n<h2>Conditions</h2>\n<ul>\n{chr(10).join(items)}\n</ul>\n"
        '<p class="notice">Each page sums up what independent health articles say about a '
        "condition, with their own words. <em>Established</em> links are stated as fact by "
        "independent sources and disputed by none; <em>contested</em> ones are hypotheses or "
        "disputed. Reader comments are never used and copies never count as independent "
        "sources. These pages are not medical advice.</p>\n</main>"
    )
    return _document(site_title, body)
