"""`graph.jsonld` and `context.jsonld`: compacted JSON-LD with a local context.

The graph has no blank nodes and a known shape, so compaction is a direct, linear pass over the
sorted triples (a general JSON-LD processor is far slower at 400k triples). Correctness is
proven by the tests: an independent processor expands the output back to `graph.nt`.
Every value is an array (`@container: @set`), keys are sorted, and the context is inline in
`graph.jsonld` so the dump never needs a remote fetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyoxigraph import Literal, NamedNode

from pipeline import jsonout
from pipeline.exporters.base import Chunks, ExportContext, Output
from pipeline.exporters.turtle import data_prefixes
from pipeline.graph import KnowledgeGraph
from pipeline.vocab import BIBO, CITO, CK, DCTERMS, OA, PROV, RDF, RDFS, SCHEMA, SKOS, SPDX, XSD

_ID = {"@type": "@id"}
_EN = {"@language": "en"}
_STR: dict[str, str] = {}

# term -> (IRI, coercion). Terms are the names app developers see; keep them stable.
TERMS: dict[str, tuple[str, dict[str, str]]] = {
    **{
        name: (CK + name, _ID)
        for name in (
            "hasCause",
            "hasMechanism",
            "hasRiskFactor",
            "hasTreatment",
            "hasPrevention",
            "hasSymptom",
            "affectsAnatomy",
            "hasSubtype",
            "associatedWith",
            "involves",
            "leadsTo",
            "hasAdverseEffect",
            "stance",
            "hasEvidence",
            "sourceKind",
            "referenceKind",
            "copyOf",
            "possibleIdentity",
            "dose",
            "verificationStatus",
        )
    },
    **{
        name: (CK + name, _EN)
        for name in (
            "naturalProgression",
            "expectedPrognosis",
            "epidemiology",
            "characteristic",
            "seekCareWhen",
            "population",
        )
    },
    **{
        name: (CK + name, _STR)
        for name in (
            "authorList",
            "containerTitle",
            "citationMarker",
            "mentionText",
            "unresolvedCitationMarker",
        )
    },
    "peerReviewed": (CK + "peerReviewed", _STR),
    "prefLabel": (SKOS + "prefLabel", _EN),
    "altLabel": (SKOS + "altLabel", _EN),
    "definition": (SKOS + "definition", _EN),
    "editorialNote": (SKOS + "editorialNote", _EN),
    "label": (RDFS + "label", _EN),
    "comment": (RDFS + "comment", _EN),
    "broader": (SKOS + "broader", _ID),
    "inScheme": (SKOS + "inScheme", _ID),
    **{
        f"{m}Match": (f"{SKOS}{m}Match", _ID)
        for m in ("exact", "close", "broad", "narrow", "related")
    },
    "notation": (SKOS + "notation", _STR),
    "codes": (SCHEMA + "code", _ID),
    "codingSystem": (SCHEMA + "codingSystem", _STR),
    "codeValue": (SCHEMA + "codeValue", _STR),
    "name": (SCHEMA + "name", _STR),
    "description": (SCHEMA + "description", _EN),
    "audience": (SCHEMA + "audience", _ID),
    "reviewedBy": (SCHEMA + "reviewedBy", _ID),
    "lastReviewed": (SCHEMA + "lastReviewed", {"@type": XSD + "date"}),
    "url": (SCHEMA + "url", _ID),
    "doseValue": (SCHEMA + "doseValue", _STR),
    "doseUnit": (SCHEMA + "doseUnit", _STR),
    "subject": (RDF + "subject", _ID),
    "predicate": (RDF + "predicate", _ID),
    "object": (RDF + "object", _STR),
    "wasDerivedFrom": (PROV + "wasDerivedFrom", _ID),
    "motivatedBy": (OA + "motivatedBy", _ID),
    "hasBody": (OA + "hasBody", _ID),
    "hasTarget": (OA + "hasTarget", _ID),
    "hasSource": (OA + "hasSource", _ID),
    "hasSelector": (OA + "hasSelector", _ID),
    "exact": (OA + "exact", _STR),
    "prefix": (OA + "prefix", _STR),
    "suffix": (OA + "suffix", _STR),
    "citesAsEvidence": (CITO + "citesAsEvidence", _ID),
    "title": (DCTERMS + "title", _STR),
    "creator": (DCTERMS + "creator", _ID),
    "publisher": (DCTERMS + "publisher", _ID),
    "issued": (DCTERMS + "issued", _STR),
    "modified": (DCTERMS + "modified", {"@type": XSD + "date"}),
    "language": (DCTERMS + "language", _STR),
    "isPartOf": (DCTERMS + "isPartOf", _ID),
    "references": (DCTERMS + "references", _ID),
    "license": (DCTERMS + "license", _ID),
    "bibliographicCitation": (DCTERMS + "bibliographicCitation", _STR),
    "doi": (BIBO + "doi", _STR),
    "checksum": (SPDX + "checksum", _ID),
    "algorithm": (SPDX + "algorithm", _ID),
    "checksumValue": (SPDX + "checksumValue", {"@type": XSD + "hexBinary"}),
}


def build_context(base: str) -> dict[str, Any]:
    """The JSON-LD context: prefixes, then one `@set` term per property."""
    ctx: dict[str, Any] = {"@version": 1.1, "@base": base, "id": "@id", "type": "@type"}
    ctx.update(data_prefixes(base))
    for term, (iri, coercion) in TERMS.items():
        ctx[term] = {"@id": iri, **coercion, "@container": "@set"}
    return ctx


class _Compactor:
    def __init__(self, base: str):
        self.base = base
        self.prefixes = sorted(data_prefixes(base).items(), key=lambda kv: -len(kv[1]))
        self.by_iri = {iri: (term, coercion) for term, (iri, coercion) in TERMS.items()}
        self.compacted: dict[str, str] = {}  # IRIs repeat (types, predicates): scan prefixes once

    def iri(self, iri: str) -> str:
        found = self.compacted.get(iri)
        if found is None:
            if len(self.compacted) >= 65536:  # bounded: a catalogue has millions of IRIs
                self.compacted.clear()
            found = self.compacted[iri] = self._iri(iri)
        return found

    def _iri(self, iri: str) -> str:
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns) :].startswith("/"):
                return f"{prefix}:{iri[len(ns) :]}"
        # Relative only against a base ending in "/": against `.../b#`, `claim/x` would
        # resolve to `.../claim/x` (RFC 3986 drops the last segment and the fragment).
        relative = self.base.endswith("/") and iri.startswith(self.base)
        if relative and ":" not in iri[len(self.base) :]:
            return iri[len(self.base) :]  # relative to @base: claim/c1/evidence/1
        return iri

    def key(self, predicate: str) -> tuple[str, dict[str, str]]:
        return self.by_iri.get(predicate) or (self.iri(predicate), {})

    def value(self, node: NamedNode | Literal, coercion: dict[str, str]) -> Any:
        if isinstance(node, NamedNode):
            compact = self.iri(node.value)
            return compact if coercion.get("@type") == "@id" else {"@id": compact}
        dt = node.datatype.value
        if node.language:
            if coercion.get("@language") == node.language:
                return node.value
            return {"@value": node.value, "@language": node.language}
        if coercion.get("@type") == dt:
            return node.value
        if dt == XSD + "string":
            return node.value if not coercion else {"@value": node.value}
        if dt == XSD + "boolean" and node.value in ("true", "false"):
            return node.value == "true"
        if dt == XSD + "integer" and node.value.lstrip("-").isdigit():
            return int(node.value)
        return {"@value": node.value, "@type": self.iri(dt)}


def _nodes(kg: KnowledgeGraph) -> Iterator[dict[str, Any]]:
    """The graph's node objects in order, one per subject."""
    c = _Compactor(kg.base)
    current: dict[str, Any] | None = None
    for t in kg.triples:  # sorted: each subject's triples are consecutive
        assert isinstance(t.subject, NamedNode) and isinstance(t.object, NamedNode | Literal)
        subject = c.iri(t.subject.value)
        if current is None or current["@id"] != subject:
            if current is not None:
                yield current
            current = {"@id": subject}
        if t.predicate.value == RDF + "type":
            current.setdefault("@type", []).append(c.iri(t.object.value))
            continue
        key, coercion = c.key(t.predicate.value)
        current.setdefault(key, []).append(c.value(t.object, coercion))
    if current is not None:
        yield current


def dumps(doc: Any) -> bytes:
    return (jsonout.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def graph_chunks(kg: KnowledgeGraph, batch: int = 5000) -> Chunks:
    """`dumps({"@context": ..., "@graph": [every node]})`, written `batch` nodes at a time.

    The document's two keys and its list are spelled out here and each node is indented as
    it would be in place (JSON strings hold no raw line breaks, so re-indenting is exact)."""

    def produce() -> Iterator[bytes]:
        context = jsonout.dumps(build_context(kg.base), indent=1, sort_keys=True)
        yield ('{\n "@context": ' + context.replace("\n", "\n ") + ',\n "@graph": ').encode()
        parts: list[str] = []
        first = True
        for node in _nodes(kg):
            text = jsonout.dumps(node, indent=1, sort_keys=True).replace("\n", "\n  ")
            parts.append(("[\n  " if first else ",\n  ") + text)
            first = False
            if len(parts) >= batch:
                yield "".join(parts).encode()
                parts = []
        yield ("".join(parts) + ("[]" if first else "\n ]") + "\n}\n").encode()

    return Chunks(produce)


class JsonLdExporter:
    name = "jsonld"
    description = "the knowledge graph as compacted JSON-LD, and its context"

    def export(self, ctx: ExportContext) -> dict[str, Output]:
        return {
            "graph.jsonld": graph_chunks(ctx.graph),
            "context.jsonld": dumps({"@context": build_context(ctx.graph.base)}),
        }
