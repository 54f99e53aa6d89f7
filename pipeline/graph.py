"""Graph stage: typed records -> RDF triples, with the YAML origin of every minted node.

IRIs are minted under the dataset's base (docs/model.md lists them); no blank nodes are made,
so every export is stable. Terms are pyoxigraph's, which are cheap to create and are checked
as valid IRIs when made, one object per IRI; a triple is a `Statement` of shared terms (see
pipeline.rdfio); duplicates are removed and the set is sorted once.
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
from pipeline.rdfio import AnyTriple, Statement
from pipeline.report import Location
from pipeline.triage import Triage
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
    triples: Sequence[AnyTriple]  # a `Statement` list when built; tests may pass `Triple`s
    origins: dict[str, Location] = field(default_factory=dict)

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


# One node per IRI while a graph is built, so its Statements share their terms. Emptied when
# the build ends: the graph keeps the nodes it uses, and a cache kept across builds would
# hold every IRI a long-lived process ever minted (a million at 10,000 conditions).
_N: dict[str, NamedNode] = {}


def n(iri: str) -> NamedNode:
    node = _N.get(iri)
    if node is None:
        node = _N[iri] = NamedNode(iri)
    return node


TYPE = n(RDF + "type")
EN = "en"


def text(value: str, lang: str | None = EN) -> Literal:
    return Literal(value, language=lang) if lang else Literal(value)


def typed(value: str, datatype: str) -> Literal:
    return Literal(value, datatype=n(datatype))


class _Builder:
    def __init__(self, corpus: Corpus):
        self.c = corpus
        self.base = corpus.dataset.base if corpus.dataset else DEFAULT_BASE
        self.out: list[Statement] = []
        self.origins: dict[str, Location] = {}
        self.agents = agent_slugs(corpus)

    def iri(self, kind: str, id_: str) -> NamedNode:
        return n(f"{self.base}{kind}/{id_}")

    def add(self, s: NamedNode, p: str, o: Term) -> None:
        self.out.append(Statement(s, n(p), o))

    def many(self, s: NamedNode, p: str, objects: Iterable[Term]) -> None:
        for o in objects:
            self.add(s, p, o)

    def mint(self, node: NamedNode, where: Location) -> NamedNode:
        self.origins.setdefault(node.value, where)
        return node

    # ------------------------------------------------------------ records

    def dataset(self) -> None:
        d = self.c.dataset
        if d is None:
            return
        scheme = self.mint(
            n(self.base + "scheme"),
            self.c.dataset_origin.item if self.c.dataset_origin else Location(""),
        )
        self.add(scheme, RDF + "type", n(SKOS + "ConceptScheme"))
        self.add(scheme, SKOS + "prefLabel", text(d.title))
        self.add(scheme, DCTERMS + "license", n(d.license))

    def entity(self, e: Entity) -> None:
        s = self.mint(self.iri("entity", e.id), e.origin.item)
        self.add(s, RDF + "type", n(ENTITY_TYPES[e.type]))
        self.add(s, RDF + "type", n(SKOS + "Concept"))
        if e.schema_type:
            self.add(s, RDF + "type", n(SCHEMA + e.schema_type))
        self.add(s, SKOS + "prefLabel", text(e.label))
        self.add(s, RDFS + "label", text(e.label))
        self.many(s, SKOS + "altLabel", (text(a) for a in e.alt_labels))
        if e.description:
            self.add(s, SKOS + "definition", text(e.description))
        if e.note:
            self.add(s, SKOS + "editorialNote", text(e.note))
        self.many(s, SKOS + "broader", (self.iri("entity", b) for b in e.broader))
        self.add(s, SKOS + "inScheme", n(self.base + "scheme"))
        for j, code in enumerate(e.codes):
            system = CODE_SYSTEMS[code.system]
            node = self.mint(
                n(f"{self.base}code/{system.slug}/{code.code}"), e.origin.at(f"codes.{j}.code")
            )
            self.add(s, SCHEMA + "code", node)
            self.add(s, MATCHES[code.match], n(system.iri(code.code)))
            self.add(node, RDF + "type", n(SCHEMA + "MedicalCode"))
            self.add(node, SCHEMA + "codingSystem", text(system.name, None))
            self.add(node, SCHEMA + "codeValue", text(code.code, None))
            self.add(node, SKOS + "notation", text(code.code, None))
            self.add(node, CK + "verificationStatus", n(VERIFICATION[code.status]))
            if code.label:
                self.add(node, RDFS + "label", text(code.label, None))

    def agent(self, kind: str, name: str, where: Location, role: str | None = None) -> NamedNode:
        node = self.mint(self.iri(kind, self.agents[(kind, name)]), where)
        self.add(node, RDF + "type", n(SCHEMA + ("Person" if kind == "person" else "Organization")))
        self.add(node, RDF + "type", n(PROV + "Agent"))
        self.add(node, SCHEMA + "name", text(name, None))
        if role:
            self.add(node, SCHEMA + "description", text(role))
        return node

    def source(self, src: Source) -> None:
        s = self.mint(self.iri("source", src.id), src.origin.item)
        for t in (CK + "SourceDocument", SCHEMA + "Article", PROV + "Entity"):
            self.add(s, RDF + "type", n(t))
        self.add(s, DCTERMS + "title", text(src.title))
        self.add(s, CK + "sourceKind", n(SOURCE_KINDS[src.kind]))
        self.add(s, DCTERMS + "language", text(src.language, None))
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
                self.add(s, prop, typed(value, XSD + "date"))
        if src.audience:
            self.add(s, SCHEMA + "audience", n(AUDIENCES[src.audience]))
        if src.url:
            self.add(s, SCHEMA + "url", n(src.url))
        if src.part_of:
            self.add(s, DCTERMS + "isPartOf", self.iri("source", src.part_of))
        if src.copy_of:
            self.add(s, CK + "copyOf", self.iri("source", src.copy_of))
        if src.note:
            self.add(s, SKOS + "editorialNote", text(src.note))
        checksum = self.mint(n(f"{s.value}/checksum"), src.origin.at("sha256"))
        self.add(s, SPDX + "checksum", checksum)
        self.add(checksum, RDF + "type", n(SPDX + "Checksum"))
        self.add(checksum, SPDX + "algorithm", n(SPDX + "checksumAlgorithm_sha256"))
        self.add(checksum, SPDX + "checksumValue", typed(src.sha256, XSD + "hexBinary"))

    def reference(self, r: Reference) -> None:
        s = self.mint(self.iri("reference", r.id), r.origin.item)
        self.add(s, RDF + "type", n(CK + "Reference"))
        self.add(s, RDF + "type", n(DCTERMS + "BibliographicResource"))
        self.add(self.iri("source", r.source), DCTERMS + "references", s)
        self.add(s, CK + "referenceKind", n(REFERENCE_KINDS[r.kind]))
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
                self.add(s, prop, text(value, None))
        doi = normalise_doi(r.doi) if r.doi else None
        csl = self.c.csl.get(doi, {}) if doi else {}
        if doi:  # the DOI's resolver IRI identifies the work; CSL fills what the YAML lacks
            self.add(s, SCHEMA + "sameAs", n("https://doi.org/" + quote(doi, safe="/")))
        if not r.title and isinstance(csl.get("title"), str):
            self.add(s, DCTERMS + "title", text(str(csl["title"]), None))
        if not r.container and isinstance(csl.get("container-title"), str):
            self.add(s, CK + "containerTitle", text(str(csl["container-title"]), None))
        year = r.year or (csl_year(csl) if csl else None)
        if year:
            self.add(s, DCTERMS + "issued", typed(str(year), XSD + "gYear"))
        if r.url:
            self.add(s, SCHEMA + "url", n(r.url))
        if r.peer_reviewed is not None:
            self.add(s, CK + "peerReviewed", Literal(r.peer_reviewed))
        if r.note:
            self.add(s, SKOS + "editorialNote", text(r.note))
        self.many(s, CK + "possibleIdentity", (self.iri("reference", c) for c in r.candidates))

    def triage(self, t: Triage) -> None:
        """Detected copies and foreign-language passages, as facts about the sources."""
        for d in t.duplicates:
            copy = self.iri("source", d.copy)
            self.add(copy, CK + "copyOf", self.iri("source", d.original))
            self.add(copy, CK + "similarity", typed(f"{d.similarity:.3f}", XSD + "decimal"))
        for p in t.passages:
            self.add(self.iri("source", p.source), CK + "detectedLanguage", text(p.language, None))

    def claim(self, c: Claim) -> None:
        pred = PREDICATES[c.predicate]
        s = self.mint(self.iri("claim", c.id), c.origin.item)
        src = self.c.sources.get(c.source)
        anecdotal = src is not None and src.kind == "reader-comments"
        self.add(s, RDF + "type", n(CK + ("AnecdotalClaim" if anecdotal else "Claim")))
        if anecdotal:
            self.add(s, RDF + "type", n(CK + "Claim"))
        subject = self.iri("entity", c.subject)
        obj: Term = self.iri("entity", c.object) if c.object else text(c.value or "")
        self.add(subject, pred.iri, obj)  # the plain triple
        self.add(s, RDF + "subject", subject)
        self.add(s, RDF + "predicate", n(pred.iri))
        self.add(s, RDF + "object", obj)
        self.add(s, CK + "stance", n(STANCES[c.stance]))
        self.add(s, PROV + "wasDerivedFrom", self.iri("source", c.source))
        if c.population:
            self.add(s, CK + "population", text(c.population))
        if c.note:
            self.add(s, SKOS + "editorialNote", text(c.note))
        if c.dose:
            dose = self.mint(n(f"{s.value}/dose"), c.origin.at("dose"))
            self.add(s, CK + "dose", dose)
            self.add(dose, RDF + "type", n(SCHEMA + "DoseSchedule"))
            value = c.dose.value
            # xsd:decimal has no exponent: 1e-07 must be written 0.0000001
            plain = format(Decimal(repr(value)), "f")
            lit = Literal(int(value)) if value.is_integer() else typed(plain, XSD + "decimal")
            self.add(dose, SCHEMA + "doseValue", lit)
            self.add(dose, SCHEMA + "doseUnit", text(c.dose.unit, None))
            if c.dose.qualifier:
                self.add(dose, RDFS + "comment", text(c.dose.qualifier))
        for i, ev in enumerate(c.evidence, start=1):
            where = c.origin.at(f"evidence.{i - 1}")
            e = self.mint(n(f"{s.value}/evidence/{i}"), where)
            target = self.mint(n(f"{e.value}/target"), where)
            selector = self.mint(n(f"{e.value}/selector"), c.origin.at(f"evidence.{i - 1}.quote"))
            self.add(s, CK + "hasEvidence", e)
            self.add(e, RDF + "type", n(CK + "Evidence"))
            self.add(e, RDF + "type", n(OA + "Annotation"))
            self.add(e, OA + "motivatedBy", n(OA + "describing"))
            self.add(e, OA + "hasBody", s)
            self.add(e, OA + "hasTarget", target)
            self.many(
                e, CITO + "citesAsEvidence", (self.iri("reference", r) for r in ev.references)
            )
            self.many(e, CK + "unresolvedCitationMarker", (text(m, None) for m in ev.unresolved))
            self.add(target, RDF + "type", n(OA + "SpecificResource"))
            self.add(target, OA + "hasSource", self.iri("source", c.source))
            self.add(target, OA + "hasSelector", selector)
            self.add(selector, RDF + "type", n(OA + "TextQuoteSelector"))
            self.add(selector, OA + "exact", text(ev.exact or ev.quote, None))
            if ev.prefix:
                self.add(selector, OA + "prefix", text(ev.prefix, None))
            if ev.suffix:
                self.add(selector, OA + "suffix", text(ev.suffix, None))


def sorted_unique(triples: list[Statement]) -> list[Statement]:
    """`sorted(set(triples), key=str)`, a subject at a time.

    A triple's text starts with its subject's, and the character after a subject (a space)
    sorts before any character inside one, so ordering subjects, then each subject's triples
    by the rest of their text, is the same order. It needs the sort keys of one subject's
    triples at a time instead of a key string per triple at once, 5 million at 10,000
    conditions and the build's peak memory once validation is partitioned."""
    groups: dict[NamedNode, list[Statement]] = {}
    for t in triples:
        group = groups.get(t.subject)
        if group is None:
            groups[t.subject] = [t]
        else:
            group.append(t)
    found: list[Statement] = []
    for subject in sorted(groups, key=str):
        group = groups.pop(subject)
        found.extend(sorted(set(group), key=_rest) if len(group) > 1 else group)
    return found


def _rest(t: Statement) -> str:
    return f"{t.predicate} {t.object}"


def build_graph(corpus: Corpus, triage: Triage | None = None) -> KnowledgeGraph:
    """All triples of the corpus, sorted and without duplicates."""
    try:
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
        triples = sorted_unique(b.out)
        b.out.clear()
        return KnowledgeGraph(b.base, triples, b.origins)
    finally:
        _N.clear()
