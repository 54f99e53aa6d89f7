"""`ontology.html`: the ontology as a readable page, generated from `ontology/crampkg.ttl`.

Every class and property of the `ck:` namespace gets a section with its label, comment, domain,
range and alignment with other vocabularies (subclass / subproperty / equivalent / see also);
the controlled vocabularies are listed scheme by scheme. Terms appear in the order of the
ontology file, which groups them by topic. Everything taken from the ontology is HTML-escaped;
the page is static (no JavaScript) and carries its own small style sheet.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, parse

from pipeline.exporters.base import ExportContext
from pipeline.resources import ontology_file
from pipeline.vocab import CK, DCTERMS, ONTOLOGY_IRI, OWL, PREFIXES, RDF, RDFS, SKOS

Node = NamedNode | BlankNode | Literal
_EXTRA_PREFIXES = {"vann": "http://purl.org/vocab/vann/", "foaf": "http://xmlns.com/foaf/0.1/"}
_KINDS = (
    ("classes", "Classes", (OWL + "Class",)),
    ("object-properties", "Object properties", (OWL + "ObjectProperty",)),
    ("datatype-properties", "Datatype properties", (OWL + "DatatypeProperty",)),
    ("annotation-properties", "Annotation properties", (OWL + "AnnotationProperty",)),
)
_ALIGNMENT = (
    ("subclass of", RDFS + "subClassOf"),
    ("subproperty of", RDFS + "subPropertyOf"),
    ("equivalent class", OWL + "equivalentClass"),
    ("equivalent property", OWL + "equivalentProperty"),
    ("inverse of", OWL + "inverseOf"),
    ("see also", RDFS + "seeAlso"),
)
_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}code{font-size:.95em}h2{border-bottom:1px solid #ccc;margin-top:2.5rem}
section.term{border-left:3px solid #ddd;padding:.2rem 0 .2rem 1rem;margin:1.5rem 0}
table{border-collapse:collapse}th{text-align:left;vertical-align:top;padding:.15rem 1rem .15rem 0;
white-space:nowrap;color:#555;font-weight:normal}td{padding:.15rem 0}
table.vocab td,table.vocab th{border-bottom:1px solid #eee;padding:.3rem 1rem .3rem 0}"""


def esc(text: str) -> str:
    return html.escape(text, quote=True)


class _Ontology:
    """The parsed file: objects by subject and predicate, and subjects in file order."""

    def __init__(self, data: bytes):
        self.facts: dict[str, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
        self.order: dict[str, int] = {}
        for t in parse(data, format=RdfFormat.TURTLE):
            key = self.key(t.subject)
            self.order.setdefault(key, len(self.order))
            self.facts[key][t.predicate.value].append(t.object)

    @staticmethod
    def key(node: object) -> str:
        return node.value if isinstance(node, NamedNode) else str(node)

    def objects(self, subject: str, predicate: str) -> list[Node]:
        return self.facts.get(subject, {}).get(predicate, [])

    def text(self, subject: str, predicate: str) -> str:
        """The English (or untagged) literal of a property, empty if none."""
        values = [o for o in self.objects(subject, predicate) if isinstance(o, Literal)]
        english = [v for v in values if v.language in (None, "en")]
        return (english or values)[0].value if values else ""

    def typed(self, rdf_type: str, namespace: str = CK) -> list[str]:
        found = [
            s
            for s, props in self.facts.items()
            if s.startswith(namespace) and NamedNode(rdf_type) in props.get(RDF + "type", [])
        ]
        return sorted(found, key=self.order.__getitem__)

    def rdf_list(self, head: Node) -> list[Node]:
        items: list[Node] = []
        while isinstance(head, BlankNode | NamedNode) and self.key(head) != RDF + "nil":
            first = self.objects(self.key(head), RDF + "first")
            rest = self.objects(self.key(head), RDF + "rest")
            if not first or not rest:
                break
            items.append(first[0])
            head = rest[0]
        return items


def _curie(iri: str) -> str:
    prefixes = {**PREFIXES, **_EXTRA_PREFIXES}
    for prefix, ns in sorted(prefixes.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns) and iri != ns:
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


class _Page:
    def __init__(self, onto: _Ontology):
        self.o = onto

    def ref(self, node: Node) -> str:
        """A term as HTML: a link to its section, or to the external IRI; unions spelled out."""
        if isinstance(node, Literal):
            return esc(node.value)
        if isinstance(node, BlankNode):
            members = self.o.objects(self.o.key(node), OWL + "unionOf")
            if members:
                return " or ".join(self.ref(m) for m in self.o.rdf_list(members[0]))
            return "(anonymous)"
        iri = node.value
        href = f"#{iri[len(CK) :]}" if iri.startswith(CK) else iri
        return f'<a href="{esc(href)}"><code>{esc(_curie(iri))}</code></a>'

    def refs(self, nodes: Iterable[Node]) -> str:
        return ", ".join(self.ref(n) for n in nodes)

    def row(self, label: str, value: str) -> str:
        return f"<tr><th>{esc(label)}</th><td>{value}</td></tr>\n" if value else ""

    def term(self, iri: str, kind: str) -> str:
        o = self.o
        local = iri[len(CK) :]
        types = [
            _curie(t.value)
            for t in o.objects(iri, RDF + "type")
            if isinstance(t, NamedNode) and t.value != OWL + kind
        ]
        rows = [
            self.row("IRI", f"<code>{esc(iri)}</code>"),
            self.row("label", esc(o.text(iri, RDFS + "label"))),
            self.row("comment", esc(o.text(iri, RDFS + "comment"))),
            self.row("also a", esc(", ".join(types))),
            self.row("domain", self.refs(o.objects(iri, RDFS + "domain"))),
            self.row("range", self.refs(o.objects(iri, RDFS + "range"))),
            self.row("disjoint with", self.refs(self.disjoint(iri))),
        ]
        rows += [self.row(name, self.refs(o.objects(iri, p))) for name, p in _ALIGNMENT]
        title = esc(o.text(iri, RDFS + "label") or local)
        return (
            f'<section class="term" id="{esc(local)}">\n'
            f"<h3><code>ck:{esc(local)}</code> — {title}</h3>\n"
            f"<table>\n{''.join(rows)}</table>\n</section>\n"
        )

    def disjoint(self, iri: str) -> list[Node]:
        """Other members of the owl:AllDisjointClasses groups this class belongs to."""
        out: list[Node] = []
        for group in self.o.typed(OWL + "AllDisjointClasses", namespace=""):
            for head in self.o.objects(group, OWL + "members"):
                members = self.o.rdf_list(head)
                if NamedNode(iri) in members:
                    out += [m for m in members if m != NamedNode(iri)]
        return out

    def schemes(self) -> str:
        o = self.o
        parts = []
        for scheme in o.typed(SKOS + "ConceptScheme"):
            concepts = [
                c
                for c in o.typed(SKOS + "Concept")
                if NamedNode(scheme) in o.objects(c, SKOS + "inScheme")
            ]
            rows = "".join(
                f'<tr id="{esc(c[len(CK) :])}"><td><code>ck:{esc(c[len(CK) :])}</code></td>'
                f"<td>{esc(o.text(c, SKOS + 'notation'))}</td>"
                f"<td>{esc(o.text(c, SKOS + 'definition') or o.text(c, RDFS + 'comment'))}</td>"
                f"<td>{self.refs(o.objects(c, RDFS + 'seeAlso'))}</td></tr>\n"
                for c in concepts
            )
            classes = {self.ref(t) for c in concepts for t in o.objects(c, RDF + "type")}
            classes -= {
                self.ref(NamedNode(SKOS + "Concept")),
                self.ref(NamedNode(OWL + "NamedIndividual")),
            }
            local = scheme[len(CK) :]
            parts.append(
                f'<section class="term" id="{esc(local)}">\n'
                f"<h3><code>ck:{esc(local)}</code> — {esc(o.text(scheme, RDFS + 'label'))}</h3>\n"
                f"<p>{esc(o.text(scheme, RDFS + 'comment'))}</p>\n"
                f"<p>Members are instances of {', '.join(sorted(classes))}.</p>\n"
                '<table class="vocab">\n<tr><th>term</th><th>notation</th><th>definition</th>'
                f"<th>see also</th></tr>\n{rows}</table>\n</section>\n"
            )
        return "".join(parts)

    def render(self, version: str) -> str:
        o = self.o
        title = o.text(ONTOLOGY_IRI, DCTERMS + "title") or "crampkg ontology"
        header = [
            self.row("IRI", f"<code>{esc(ONTOLOGY_IRI)}</code>"),
            self.row("version IRI", self.refs(o.objects(ONTOLOGY_IRI, OWL + "versionIRI"))),
            self.row("version", esc(o.text(ONTOLOGY_IRI, OWL + "versionInfo"))),
            self.row("namespace", f"<code>{esc(CK)}</code> (prefix <code>ck:</code>)"),
            self.row("license", self.refs(o.objects(ONTOLOGY_IRI, DCTERMS + "license"))),
            self.row("creator", esc(o.text(ONTOLOGY_IRI, DCTERMS + "creator"))),
            self.row("aligned with", self.refs(o.objects(ONTOLOGY_IRI, RDFS + "seeAlso"))),
        ]
        toc, body = [], []
        for anchor, heading, types in _KINDS:
            terms = [t for rdf_type in types for t in o.typed(rdf_type)]
            if not terms:
                continue
            kind = types[0][len(OWL) :]
            links = ", ".join(self.ref(NamedNode(t)) for t in terms)
            toc.append(f'<li><a href="#{anchor}">{esc(heading)}</a> ({len(terms)}): {links}</li>\n')
            body.append(f'<h2 id="{anchor}">{esc(heading)}</h2>\n')
            body += [self.term(t, kind) for t in terms]
        toc.append('<li><a href="#vocabularies">Controlled vocabularies</a></li>\n')
        body.append('<h2 id="vocabularies">Controlled vocabularies</h2>\n' + self.schemes())
        prefixes = "".join(
            f"<tr><th><code>{esc(p)}:</code></th><td><code>{esc(ns)}</code></td></tr>\n"
            for p, ns in sorted({**PREFIXES, **_EXTRA_PREFIXES}.items())
        )
        body.append(f'<h2 id="prefixes">Prefixes</h2>\n<table>\n{prefixes}</table>\n')
        toc.append('<li><a href="#prefixes">Prefixes</a></li>\n')
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{esc(title)}</title>\n"
            f'<meta name="generator" content="crampkg {esc(version)}">\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{esc(title)}</h1>\n"
            f"<p>{esc(o.text(ONTOLOGY_IRI, DCTERMS + 'description'))}</p>\n"
            f"<table>\n{''.join(header)}</table>\n"
            f"<h2>Contents</h2>\n<ul>\n{''.join(toc)}</ul>\n"
            f"{''.join(body)}"
            "<footer><p>Generated from <code>ontology/crampkg.ttl</code> by crampkg "
            f"{esc(version)}; do not edit.</p></footer>\n</body>\n</html>\n"
        )


class OntologyDocExporter:
    name = "ontology-doc"
    description = "readable documentation of the ontology (ontology.html)"

    def export(self, ctx: ExportContext) -> dict[str, bytes]:
        page = _Page(_Ontology(ontology_file().read_bytes()))
        return {"ontology.html": page.render(ctx.version).encode("utf-8")}
