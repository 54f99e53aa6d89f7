"""`api/`: one framed JSON-LD document per condition, for application developers.

A condition document is cut from the graph: the condition node (all its triples but
`rdfs:label` and `skos:inScheme`, which repeat `skos:prefLabel` and the dataset), its codes, the
claims whose `rdf:subject` it is with everything they own (evidence, target, selector, dose),
and short descriptions of what those point to (related entities: types and label; sources:
title, kind, url; cited references: kind, citation, title, year, doi, url, peer review,
mention). docs/api.md documents the shape; tests/test_api.py proves the triples.

Every node of the graph is visited a bounded number of times: triples are indexed by subject
and claims by their subject once, so the export is linear in the size of the graph.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from pyoxigraph import Literal

from pipeline import jsonout
from pipeline.exporters.api_context import (
    RELATION_TERMS,
    ShapeError,
    Term,
    api_context,
    boolean,
    compact,
    context_iri,
    context_path,
    iri_of,
    number,
    prefixed,
    text,
    typed,
)
from pipeline.exporters.api_schema import condition_schema, index_schema
from pipeline.exporters.base import ExportContext, Output, later
from pipeline.exporters.nodes import Node, NodeIndex
from pipeline.vocab import (
    BIBO,
    CITO,
    CK,
    DCTERMS,
    OA,
    PREDICATES,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    XSD,
)

TYPE = RDF + "type"
MATCH_TERMS = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
# Condition properties left out of the documents (they repeat what the document says).
OMITTED = frozenset({RDFS + "label", SKOS + "inScheme"})
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _pop_all(node: Node, p: str) -> list[Term]:
    return node.pop(p, [])


def _opt(node: Node, p: str) -> Term | None:
    values = node.pop(p, [])
    if len(values) > 1:
        raise ShapeError(f"expected at most one <{p}>, got {values}")
    return values[0] if values else None


def _one(node: Node, p: str) -> Term:
    value = _opt(node, p)
    if value is None:
        raise ShapeError(f"expected one <{p}>, got none")
    return value


def _done(iri: str, node: Node) -> None:
    """Every property of an owned node must be in its document: nothing is dropped silently."""
    if node:
        raise ShapeError(f"<{iri}> has properties the API does not represent: {sorted(node)}")


def _types(node: Node) -> list[str]:
    return sorted(compact(iri_of(t)) for t in _pop_all(node, TYPE))


def _evidence_order(iri: str) -> tuple[int, str]:
    tail = iri.rsplit("/", 1)[-1]
    return (int(tail), iri) if tail.isdigit() else (0, iri)


# ------------------------------------------------------------------ nodes


class _Builder:
    def __init__(self, graph: NodeIndex, base: str):
        self.g, self.base = graph, base

    def summary(self, iri: str) -> dict[str, Any]:
        """A related entity: its types and label."""
        node = self.g.node(iri)
        label = _one(node, SKOS + "prefLabel")
        return {"id": iri, "type": _types(node), "label": text(label, "en")}

    def code(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        doc: dict[str, Any] = {"id": iri, "type": _types(node)}
        for key, p in (
            ("codingSystem", SCHEMA + "codingSystem"),
            ("codeValue", SCHEMA + "codeValue"),
            ("notation", SKOS + "notation"),
        ):
            value = _one(node, p)
            doc[key] = text(value, None)
        label = _opt(node, RDFS + "label")
        if label is not None:
            doc["codeLabel"] = text(label, None)
        status = _one(node, CK + "verificationStatus")
        doc["verificationStatus"] = compact(iri_of(status))
        _done(iri, node)
        return doc

    def source(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        title, kind = _one(node, DCTERMS + "title"), _one(node, CK + "sourceKind")
        doc: dict[str, Any] = {
            "id": iri,
            "title": text(title, "en"),
            "sourceKind": compact(iri_of(kind)),
        }
        url = _opt(node, SCHEMA + "url")
        if url is not None:
            doc["url"] = iri_of(url)
        return doc

    def reference(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        kind = _one(node, CK + "referenceKind")
        doc: dict[str, Any] = {"id": iri, "referenceKind": compact(iri_of(kind))}
        plain = (
            ("citation", DCTERMS + "bibliographicCitation"),
            ("referenceTitle", DCTERMS + "title"),
        )
        for key, p in plain:
            if (v := _opt(node, p)) is not None:
                doc[key] = text(v, None)
        if (v := _opt(node, DCTERMS + "issued")) is not None:
            doc["year"] = typed(v, XSD + "gYear")
        if (v := _opt(node, BIBO + "doi")) is not None:
            doc["doi"] = text(v, None)
        if (v := _opt(node, SCHEMA + "url")) is not None:
            doc["url"] = iri_of(v)
        if (v := _opt(node, CK + "peerReviewed")) is not None:
            doc["peerReviewed"] = boolean(v)
        if (v := _opt(node, CK + "mentionText")) is not None:
            doc["mentionText"] = text(v, None)
        return doc

    def selector(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        doc: dict[str, Any] = {"id": iri, "type": _types(node)}
        exact = _one(node, OA + "exact")
        doc["quote"] = text(exact, None)
        for key in ("prefix", "suffix"):
            if (v := _opt(node, OA + key)) is not None:
                doc[key] = text(v, None)
        _done(iri, node)
        return doc

    def evidence(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        doc: dict[str, Any] = {"id": iri, "type": _types(node)}
        motivation, body = _one(node, OA + "motivatedBy"), _one(node, OA + "hasBody")
        target_iri = _one(node, OA + "hasTarget")
        doc["motivation"] = compact(iri_of(motivation))
        doc["body"] = iri_of(body)
        target = self.g.node(iri_of(target_iri))
        has_source, selector = (
            _one(target, OA + "hasSource"),
            _one(target, OA + "hasSelector"),
        )
        doc["target"] = {
            "id": iri_of(target_iri),
            "type": _types(target),
            "hasSource": iri_of(has_source),
            "selector": self.selector(iri_of(selector)),
        }
        _done(iri_of(target_iri), target)
        cites = sorted(iri_of(r) for r in _pop_all(node, CITO + "citesAsEvidence"))
        doc["cites"] = [self.reference(r) for r in cites]
        markers = _pop_all(node, CK + "unresolvedCitationMarker")
        doc["unresolvedMarkers"] = sorted(text(m, None) for m in markers)
        _done(iri, node)
        return doc

    def dose(self, iri: str) -> dict[str, Any]:
        node = self.g.node(iri)
        doc: dict[str, Any] = {"id": iri, "type": _types(node)}
        value, unit = _one(node, SCHEMA + "doseValue"), _one(node, SCHEMA + "doseUnit")
        doc["doseValue"] = number(value)
        doc["doseUnit"] = text(unit, None)
        if (v := _opt(node, RDFS + "comment")) is not None:
            doc["comment"] = text(v, "en")
        _done(iri, node)
        return doc

    def claim(self, iri: str, node: Node, value: str | None) -> dict[str, Any]:
        """A claim whose rdf:object was already taken: the nesting (or `value`) carries it."""
        doc: dict[str, Any] = {"id": iri, "type": _types(node)}
        subject, predicate = _one(node, RDF + "subject"), _one(node, RDF + "predicate")
        stance, source = _one(node, CK + "stance"), _one(node, PROV + "wasDerivedFrom")
        doc["subject"] = iri_of(subject)
        doc["predicate"] = prefixed(iri_of(predicate))
        if value is not None:
            doc["value"] = value
        doc["stance"] = compact(iri_of(stance))
        for key, p in (("population", CK + "population"), ("note", SKOS + "editorialNote")):
            if (v := _opt(node, p)) is not None:
                doc[key] = text(v, "en")
        doc["source"] = self.source(iri_of(source))
        if (d := _opt(node, CK + "dose")) is not None:
            doc["dose"] = self.dose(iri_of(d))
        evidence = sorted(
            (iri_of(e) for e in _pop_all(node, CK + "hasEvidence")), key=_evidence_order
        )
        doc["evidence"] = [self.evidence(e) for e in evidence]
        _done(iri, node)
        return doc


def _label_key(entity: dict[str, Any]) -> tuple[str, str]:
    return (str(entity["label"]).casefold(), str(entity["id"]))


def condition_document(g: NodeIndex, b: _Builder, iri: str) -> dict[str, Any]:
    node = g.node(iri)
    for p in OMITTED:
        node.pop(p, None)
    doc: dict[str, Any] = {"@context": context_iri(b.base), "id": iri, "type": _types(node)}
    label = _one(node, SKOS + "prefLabel")
    doc["label"] = text(label, "en")
    doc["altLabels"] = sorted(text(a, "en") for a in _pop_all(node, SKOS + "altLabel"))
    for key, p in (("definition", SKOS + "definition"), ("note", SKOS + "editorialNote")):
        if (v := _opt(node, p)) is not None:
            doc[key] = text(v, "en")
    broader = [b.summary(iri_of(x)) for x in _pop_all(node, SKOS + "broader")]
    doc["broader"] = sorted(broader, key=_label_key)
    doc["codes"] = [b.code(c) for c in sorted(iri_of(x) for x in _pop_all(node, SCHEMA + "code"))]
    for key in MATCH_TERMS:
        doc[key] = sorted(iri_of(x) for x in _pop_all(node, f"{SKOS}{key}"))

    # claims by (predicate, object): entity-valued ones nest under their object
    nested: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    statements: list[dict[str, Any]] = []
    for claim_iri in sorted(g.claims_of.get(iri, ())):
        claim = g.node(claim_iri)
        predicate, obj = _one(claim, RDF + "predicate"), _one(claim, RDF + "object")
        claim[RDF + "predicate"] = [predicate]  # written by _Builder.claim
        if isinstance(obj, Literal):
            statements.append(b.claim(claim_iri, claim, text(obj, "en")))
        else:
            nested[(predicate.value, obj.value)].append(b.claim(claim_iri, claim, None))
    for name, term in RELATION_TERMS.items():
        pred = PREDICATES[name]
        values = _pop_all(node, pred.iri)
        if pred.literal:
            doc[term] = sorted(text(v, "en") for v in values)
            continue
        related = []
        for o in values:
            entity = b.summary(iri_of(o))
            entity["claims"] = nested.pop((pred.iri, iri_of(o)), [])
            related.append(entity)
        doc[term] = sorted(related, key=_label_key)
    if nested:
        raise ShapeError(f"claims of <{iri}> without their plain triple: {sorted(nested)}")
    doc["statements"] = statements
    _done(iri, node)
    return doc


def conditions(g: NodeIndex) -> list[str]:
    """Conditions that are the subject of at least one claim, by IRI."""
    condition = CK + "Condition"
    return sorted(
        s for s in g.claims_of if any(t.value == condition for t in g.node(s).get(TYPE, ()))
    )


def dumps(doc: Any) -> bytes:
    """Key order is the order the builders write (the schema's order); arrays stay arrays."""
    return (jsonout.dumps(doc, indent=1) + "\n").encode()


def api_files(ctx: ExportContext) -> dict[str, Output]:
    """Every API file; the condition documents are made as they are written."""
    base = ctx.graph.base
    g = NodeIndex(ctx.graph.triples)
    b = _Builder(g, base)
    files: dict[str, Output] = {}
    index: list[dict[str, Any]] = []
    for iri in conditions(g):
        slug = iri.removeprefix(f"{base}entity/")
        if not _SLUG.fullmatch(slug):
            raise ShapeError(f"<{iri}> has no file-safe entity id")
        path = f"conditions/{slug}.json"
        files[f"api/{path}"] = later(lambda iri=iri: dumps(condition_document(g, b, iri)))  # type: ignore[misc]
        label = text(_one(g.node(iri), SKOS + "prefLabel"), "en")  # as condition_document
        index.append(
            {"id": iri, "slug": slug, "label": label, "path": path, "claims": len(g.claims_of[iri])}
        )
    dataset = ctx.corpus.dataset
    files["api/index.json"] = dumps(
        {
            "context": context_iri(base),
            "schema": "condition.schema.json",
            "dataset": {
                "title": dataset.title if dataset else None,
                "version": dataset.version if dataset else None,
            },
            "conditions": index,
        }
    )
    files["api/condition.schema.json"] = dumps(condition_schema(base))
    files["api/index.schema.json"] = dumps(index_schema(base))
    files[context_path()] = (
        json.dumps({"@context": api_context()}, ensure_ascii=False, indent=1) + "\n"
    ).encode()
    return files


class ApiExporter:
    name = "api"
    description = "one framed JSON-LD document per condition, their index, schema and context"

    def export(self, ctx: ExportContext) -> dict[str, Output]:
        return api_files(ctx)
