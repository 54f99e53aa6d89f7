"""Graph stage: typed records -> RDF triples, with the YAML origin of every minted node.

IRIs are minted under the dataset's base (docs/model.md lists them); no blank nodes are made,
so every export is stable. Terms are pyoxigraph's, which are cheap to create and are checked
as valid IRIs when made, one object per IRI. Triples are kept as three columns of term
numbers (pipeline.triples) and read as `Statement`s; duplicates are removed and the table is
sorted once.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode

from pipeline.cslcache import csl_year, normalise_doi
from pipeline.model import Claim, Corpus, Entity, Person, Reference, Source
from pipeline.rdfio import AnyTriple
from pipeline.report import Location
from pipeline.triage import Triage
from pipeline.triples import column, sorted_table
from pipeline.vocab import (
    AUDIENCES,
    BIBO,
    CITO,
    CK,
    CODE_SYSTEMS,
    DCTERMS,
    DEFAULT_BASE,
    ENTITY_TYPES,
    MATCHES,
    OA,
    PREDICATES,
    PROV,
    RDF,
    RDFS,
    REFERENCE_KINDS,
    SCHEMA,
    SKOS,
    SOURCE_KINDS,
    SPDX,
    STANCES,
    VERIFICATION,
    XSD,
)

Term = NamedNode | Literal


@dataclass
class KnowledgeGraph:
    """The built graph: sorted unique triples and where each minted node was written."""

    base: str
    triples: Sequence[AnyTriple]  # a `TripleTable` when built; tests may pass lists
    # keyed by the graph's own nodes: their IRIs as strings were 115 MB more at 10,000 conditions
    origins: dict[NamedNode, Location] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.triples)


def slug(text: str) -> str:
    """A readable IRI segment for a person or organisation name."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "unnamed"


def agent_slugs(corpus: Corpus) -> dict[tuple[str, str], str]:
    """The IRI segment of every person and organisation, by (kind, name).

    Usually `slug(name)`; names whose slugs collide ("Ada Example" and "ADA EXAMPLE!", or two
    names in a script the slug cannot spell) get 8 hex digits of their SHA-256 appended, so two
    different names are never one agent, and a name's IRI changes only when a collision does."""
    names: dict[str, set[str]] = {"person": set(), "organization": set()}
    if corpus.dataset is not None and corpus.dataset.publisher:
        names["organization"].add(corpus.dataset.publisher)
    for src in corpus.sources.values():
        if src.publisher:
            names["organization"].add(src.publisher)
        names["person"].update(p.name for p in (*src.authors, *src.reviewers))
    out: dict[tuple[str, str], str] = {}
    for kind, found in names.items():
        by_slug: dict[str, list[str]] = {}
        for name in sorted(found):
            by_slug.setdefault(slug(name), []).append(name)
        for s, group in by_slug.items():
            for name in group:
                digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
                out[(kind, name)] = s if len(group) == 1 else f"{s}-{digest}"
    return out


EN = "en"
Node = int  # a term's number in the graph being built (pipeline.triples)


class _Builder:
    """Writes the records' triples as columns of term numbers: one `NamedNode` per IRI, a
    `Literal` each time one is made (duplicates go when the table is sorted)."""

    def __init__(self, corpus: Corpus):
        self.c = corpus
        self.base = corpus.dataset.base if corpus.dataset else DEFAULT_BASE
        self.terms: list[Term] = []
        self.numbers: dict[str, Node] = {}  # IRI -> its node; lives for one build
        self.s, self.p, self.o = column(), column(), column()
        self.origins: dict[NamedNode, Location] = {}
        self.agents = agent_slugs(corpus)

    def n(self, iri: str) -> Node:
        node = self.numbers.get(iri)
        if node is None:
            node = self.numbers[iri] = len(self.terms)
            self.terms.append(NamedNode(iri))
        return node

    def lit(self, literal: Literal) -> Node:
        self.terms.append(literal)
        return len(self.terms) - 1

    def text(self, value: str, lang: str | None = EN) -> Node:
        return self.lit(Literal(value, language=lang) if lang else Literal(value))

    def typed(self, value: str, datatype: str) -> Node:
        node = self.terms[self.n(datatype)]
        assert isinstance(node, NamedNode)
        return self.lit(Literal(value, datatype=node))

    def value(self, node: Node) -> str:
        return self.terms[node].value

    def iri(self, kind: str, id_: str) -> Node:
        return self.n(f"{self.base}{kind}/{id_}")

    def add(self, s: Node, p: str, o: Node) -> None:
        self.s.append(s)
        self.p.append(self.n(p))
        self.o.append(o)

    def many(self, s: Node, p: str, objects: Iterable[Node]) -> None:
        for o in objects:
            self.add(s, p, o)

    def mint(self, node: Node, where: Location) -> Node:
        term = self.terms[node]
        assert isinstance(term, NamedNode), "only IRIs are minted"
        self.origins.setdefault(term, where)
        return node

    # ------------------------------------------------------------ records

    def dataset(self) -> None:
        d = self.c.dataset
        if d is None:
            return
        scheme = self.mint(
            self.n(self.base + "scheme"),
            self.c.dataset_origin.item if self.c.dataset_origin else Location(""),
        )
        self.add(scheme, RDF + "type", self.n(SKOS + "ConceptScheme"))
        self.add(scheme, SKOS + "prefLabel", self.text(d.title))
        self.add(scheme, DCTERMS + "license", self.n(d.license))

    def entity(self, e: Entity) -> None:
        s = self.mint(self.iri("entity", e.id), e.origin.item)
        self.add(s, RDF + "type", self.n(ENTITY_TYPES[e.type]))
        self.add(s, RDF + "type", self.n(SKOS + "Concept"))
        if e.schema_type:
            self.add(s, RDF + "type", self.n(SCHEMA + e.schema_type))
        self.add(s, SKOS + "prefLabel", self.text(e.label))
        self.add(s, RDFS + "label", self.text(e.label))
        self.many(s, SKOS + "altLabel", (self.text(a) for a in e.alt_labels))
        if e.description:
            self.add(s, SKOS + "definition", self.text(e.description))
        if e.note:
            self.add(s, SKOS + "editorialNote", self.text(e.note))
        self.many(s, SKOS + "broader", (self.iri("entity", b) for b in e.broader))
        self.add(s, SKOS + "inScheme", self.n(self.base + "scheme"))
        for j, code in enumerate(e.codes):
            system = CODE_SYSTEMS[code.system]
            node = self.mint(
                self.n(f"{self.base}code/{system.slug}/{code.code}"), e.origin.at(f"codes.{j}.code")
            )
            self.add(s, SCHEMA + "code", node)
            self.add(s, MATCHES[code.match], self.n(system.iri(code.code)))
            self.add(node, RDF + "type", self.n(SCHEMA + "MedicalCode"))
            self.add(node, SCHEMA + "codingSystem", self.text(system.name, None))
            self.add(node, SCHEMA + "codeValue", self.text(code.code, None))
            self.add(node, SKOS + "notation", self.text(code.code, None))
            self.add(node, CK + "verificationStatus", self.n(VERIFICATION[code.status]))
            if code.label:
                self.add(node, RDFS + "label", self.text(code.label, None))

    def agent(self, kind: str, name: str, where: Location, role: str | None = None) -> Node:
        node = self.mint(self.iri(kind, self.agents[(kind, name)]), where)
        self.add(
            node, RDF + "type", self.n(SCHEMA + ("Person" if kind == "person" else "Organization"))
        )
        self.add(node, RDF + "type", self.n(PROV + "Agent"))
        self.add(node, SCHEMA + "name", self.text(name, None))
        if role:
            self.add(node, SCHEMA + "description", self.text(role))
        return node

    def source(self, src: Source) -> None:
        s = self.mint(self.iri("source", src.id), src.origin.item)
        for t in (CK + "SourceDocument", SCHEMA + "Article", PROV + "Entity"):
            self.add(s, RDF + "type", self.n(t))
        self.add(s, DCTERMS + "title", self.text(src.title))
        self.add(s, CK + "sourceKind", self.n(SOURCE_KINDS[src.kind]))
        self.add(s, DCTERMS + "language", self.text(src.language, None))
        if src.publisher:
            self.add(
                s,
                DCTERMS + "publisher",
                self.agent("organization", src.publisher, src.origin.at("publisher")),
            )
        people: tuple[tuple[str, tuple[Person, ...]], ...] = (
            (DCTERMS + "creator", src.authors),
            (SCHEMA + "reviewedBy", src.reviewers),
        )
        for prop, persons in people:
            for p in persons:
                self.add(s, prop, self.agent("person", p.name, src.origin.item, p.role))
        for prop, value in (
            (DCTERMS + "issued", src.published),
            (DCTERMS + "modified", src.updated),
            (SCHEMA + "lastReviewed", src.reviewed),
        ):
            if value:
                self.add(s, prop, self.typed(value, XSD + "date"))
        if src.audience:
            self.add(s, SCHEMA + "audience", self.n(AUDIENCES[src.audience]))
        if src.url:
            self.add(s, SCHEMA + "url", self.n(src.url))
        if src.part_of:
            self.add(s, DCTERMS + "isPartOf", self.iri("source", src.part_of))
        if src.copy_of:
            self.add(s, CK + "copyOf", self.iri("source", src.copy_of))
        if src.note:
            self.add(s, SKOS + "editorialNote", self.text(src.note))
        checksum = self.mint(self.n(f"{self.value(s)}/checksum"), src.origin.at("sha256"))
        self.add(s, SPDX + "checksum", checksum)
        self.add(checksum, RDF + "type", self.n(SPDX + "Checksum"))
        self.add(checksum, SPDX + "algorithm", self.n(SPDX + "checksumAlgorithm_sha256"))
        self.add(checksum, SPDX + "checksumValue", self.typed(src.sha256, XSD + "hexBinary"))

    def reference(self, r: Reference) -> None:
        s = self.mint(self.iri("reference", r.id), r.origin.item)
        self.add(s, RDF + "type", self.n(CK + "Reference"))
        self.add(s, RDF + "type", self.n(DCTERMS + "BibliographicResource"))
        self.add(self.iri("source", r.source), DCTERMS + "references", s)
        self.add(s, CK + "referenceKind", self.n(REFERENCE_KINDS[r.kind]))
        plain = [
            (DCTERMS + "bibliographicCitation", r.citation),
            (DCTERMS + "title", r.title),
            (CK + "authorList", ", ".join(r.authors) if r.authors else None),
            (CK + "containerTitle", r.container),
            (BIBO + "doi", r.doi),
            (CK + "citationMarker", r.marker),
            (CK + "mentionText", r.mention),
        ]
        for prop, value in plain:
            if value:
                self.add(s, prop, self.text(value, None))
        doi = normalise_doi(r.doi) if r.doi else None
        csl = self.c.csl.get(doi, {}) if doi else {}
        if doi:  # the DOI's resolver IRI identifies the work; CSL fills what the YAML lacks
            self.add(s, SCHEMA + "sameAs", self.n("https://doi.org/" + quote(doi, safe="/")))
        if not r.title and isinstance(csl.get("title"), str):
            self.add(s, DCTERMS + "title", self.text(str(csl["title"]), None))
        if not r.container and isinstance(csl.get("container-title"), str):
            self.add(s, CK + "containerTitle", self.text(str(csl["container-title"]), None))
        year = r.year or (csl_year(csl) if csl else None)
        if year:
            self.add(s, DCTERMS + "issued", self.typed(str(year), XSD + "gYear"))
        if r.url:
            self.add(s, SCHEMA + "url", self.n(r.url))
        if r.peer_reviewed is not None:
            self.add(s, CK + "peerReviewed", self.lit(Literal(r.peer_reviewed)))
        if r.note:
            self.add(s, SKOS + "editorialNote", self.text(r.note))
        self.many(s, CK + "possibleIdentity", (self.iri("reference", c) for c in r.candidates))

    def triage(self, t: Triage) -> None:
        """Detected copies and foreign-language passages, as facts about the sources."""
        for d in t.duplicates:
            copy = self.iri("source", d.copy)
            self.add(copy, CK + "copyOf", self.iri("source", d.original))
            self.add(copy, CK + "similarity", self.typed(f"{d.similarity:.3f}", XSD + "decimal"))
        for p in t.passages:
            self.add(
                self.iri("source", p.source), CK + "detectedLanguage", self.text(p.language, None)
            )

    def claim(self, c: Claim) -> None:
        pred = PREDICATES[c.predicate]
        s = self.mint(self.iri("claim", c.id), c.origin.item)
        src = self.c.sources.get(c.source)
        anecdotal = src is not None and src.kind == "reader-comments"
        self.add(s, RDF + "type", self.n(CK + ("AnecdotalClaim" if anecdotal else "Claim")))
        if anecdotal:
            self.add(s, RDF + "type", self.n(CK + "Claim"))
        subject = self.iri("entity", c.subject)
        obj: Node = self.iri("entity", c.object) if c.object else self.text(c.value or "")
        self.add(subject, pred.iri, obj)  # the plain triple
        self.add(s, RDF + "subject", subject)
        self.add(s, RDF + "predicate", self.n(pred.iri))
        self.add(s, RDF + "object", obj)
        self.add(s, CK + "stance", self.n(STANCES[c.stance]))
        self.add(s, PROV + "wasDerivedFrom", self.iri("source", c.source))
        if c.population:
            self.add(s, CK + "population", self.text(c.population))
        if c.note:
            self.add(s, SKOS + "editorialNote", self.text(c.note))
        if c.dose:
            dose = self.mint(self.n(f"{self.value(s)}/dose"), c.origin.at("dose"))
            self.add(s, CK + "dose", dose)
            self.add(dose, RDF + "type", self.n(SCHEMA + "DoseSchedule"))
            value = c.dose.value
            # xsd:decimal has no exponent: 1e-07 must be written 0.0000001
            plain = format(Decimal(repr(value)), "f")
            lit = (
                self.lit(Literal(int(value)))
                if value.is_integer()
                else self.typed(plain, XSD + "decimal")
            )
            self.add(dose, SCHEMA + "doseValue", lit)
            self.add(dose, SCHEMA + "doseUnit", self.text(c.dose.unit, None))
            if c.dose.qualifier:
                self.add(dose, RDFS + "comment", self.text(c.dose.qualifier))
        for i, ev in enumerate(c.evidence, start=1):
            where = c.origin.at(f"evidence.{i - 1}")
            e = self.mint(self.n(f"{self.value(s)}/evidence/{i}"), where)
            target = self.mint(self.n(f"{self.value(e)}/target"), where)
            selector = self.mint(
                self.n(f"{self.value(e)}/selector"), c.origin.at(f"evidence.{i - 1}.quote")
            )
            self.add(s, CK + "hasEvidence", e)
            self.add(e, RDF + "type", self.n(CK + "Evidence"))
            self.add(e, RDF + "type", self.n(OA + "Annotation"))
            self.add(e, OA + "motivatedBy", self.n(OA + "describing"))
            self.add(e, OA + "hasBody", s)
            self.add(e, OA + "hasTarget", target)
            self.many(
                e, CITO + "citesAsEvidence", (self.iri("reference", r) for r in ev.references)
            )
            self.many(
                e, CK + "unresolvedCitationMarker", (self.text(m, None) for m in ev.unresolved)
            )
            self.add(target, RDF + "type", self.n(OA + "SpecificResource"))
            self.add(target, OA + "hasSource", self.iri("source", c.source))
            self.add(target, OA + "hasSelector", selector)
            self.add(selector, RDF + "type", self.n(OA + "TextQuoteSelector"))
            self.add(selector, OA + "exact", self.text(ev.exact or ev.quote, None))
            if ev.prefix:
                self.add(selector, OA + "prefix", self.text(ev.prefix, None))
            if ev.suffix:
                self.add(selector, OA + "suffix", self.text(ev.suffix, None))


def build_graph(corpus: Corpus, triage: Triage | None = None) -> KnowledgeGraph:
    """All triples of the corpus, sorted and without duplicates."""
    b = _Builder(corpus)
    if triage is not None:
        b.triage(triage)
    b.dataset()
    for key in sorted(corpus.sources):
        b.source(corpus.sources[key])
    for key in sorted(corpus.references):
        b.reference(corpus.references[key])
    for key in sorted(corpus.entities):
        b.entity(corpus.entities[key])
    for key in sorted(corpus.claims):
        b.claim(corpus.claims[key])
    return KnowledgeGraph(b.base, sorted_table(b.terms, b.s, b.p, b.o), b.origins)
