"""The versioned JSON-LD context of the API documents (`dist/context/v1.jsonld`).

It is separate from the graph context (`context.jsonld`, inline in `graph.jsonld`) because the
two shape values differently: the graph context makes every value an array, while the API
terms give single-valued properties plain values (`"stance": "supports"`) and multi-valued ones
`@set`, so that a JSON-LD processor compacting an API document with this context reproduces it.
No two terms could be chosen for the same value (one term per IRI, direction and language).

Versioning: the IRI carries the major version. Adding a term is compatible; renaming or removing
a term, or changing a term's IRI, coercion or container, changes what existing documents mean
and must bump CONTEXT_MAJOR (docs/api.md).

The functions at the end write graph terms as JSON values under this context.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pyoxigraph import Literal, NamedNode

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
from pipeline.vocab import PREFIXES as VOCAB_PREFIXES

CONTEXT_MAJOR: Final = 1

Term = NamedNode | Literal

# The API term of each claim predicate: entity-valued ones name a group of related entities
# on the subject, literal-valued ones a list of texts. A new predicate needs a name here.
RELATION_TERMS: Final[dict[str, str]] = {
    "has-cause": "causes",
    "has-mechanism": "mechanisms",
    "has-risk-factor": "riskFactors",
    "has-treatment": "treatments",
    "has-prevention": "preventions",
    "has-symptom": "symptoms",
    "affects-anatomy": "anatomy",
    "has-subtype": "subtypes",
    "associated-with": "associatedWith",
    "involves": "involves",
    "leads-to": "leadsTo",
    "has-adverse-effect": "adverseEffects",
    "natural-progression": "naturalProgression",
    "expected-prognosis": "expectedPrognosis",
    "epidemiology": "epidemiology",
    "characteristic": "characteristics",
    "seek-care-when": "seekCareWhen",
}

# Namespaces used as prefixes in values (`skos:Concept`, `oa:describing`); ck is also @vocab,
# so ontology classes and individuals are written by their local name (`Condition`, `supports`).
PREFIXES: Final[dict[str, str]] = {
    k: v for k, v in VOCAB_PREFIXES.items() if k not in ("owl", "spdx")
}

_ID: Final = {"@type": "@id"}
_VOCAB: Final = {"@type": "@vocab"}
_EN: Final = {"@language": "en"}
_SET: Final = {"@container": "@set"}


def _terms() -> dict[str, dict[str, Any]]:
    t: dict[str, dict[str, Any]] = {
        "type": {"@id": "@type", **_SET},
        # entities and codes
        "label": {"@id": SKOS + "prefLabel", **_EN},
        "altLabels": {"@id": SKOS + "altLabel", **_EN, **_SET},
        "definition": {"@id": SKOS + "definition", **_EN},
        "note": {"@id": SKOS + "editorialNote", **_EN},
        "broader": {"@id": SKOS + "broader", **_ID, **_SET},
        "codes": {"@id": SCHEMA + "code", **_ID, **_SET},
        "codingSystem": {"@id": SCHEMA + "codingSystem"},
        "codeValue": {"@id": SCHEMA + "codeValue"},
        "notation": {"@id": SKOS + "notation"},
        "codeLabel": {"@id": RDFS + "label"},
        "verificationStatus": {"@id": CK + "verificationStatus", **_VOCAB},
        **{
            f"{m}Match": {"@id": f"{SKOS}{m}Match", **_ID, **_SET}
            for m in ("exact", "close", "broad", "narrow", "related")
        },
        # claims: nested under the related entity (reverse of rdf:object), or, for literal
        # values, under the subject as `statements` (reverse of rdf:subject)
        "claims": {"@reverse": RDF + "object", **_SET},
        "statements": {"@reverse": RDF + "subject", **_SET},
        "subject": {"@id": RDF + "subject", **_ID},
        "predicate": {"@id": RDF + "predicate", **_ID},
        "value": {"@id": RDF + "object", **_EN},
        "stance": {"@id": CK + "stance", **_VOCAB},
        "population": {"@id": CK + "population", **_EN},
        "source": {"@id": PROV + "wasDerivedFrom", **_ID},
        "dose": {"@id": CK + "dose", **_ID},
        "doseValue": {"@id": SCHEMA + "doseValue"},
        "doseUnit": {"@id": SCHEMA + "doseUnit"},
        "comment": {"@id": RDFS + "comment", **_EN},
        # evidence: a Web Annotation whose target selects the quote in the source document
        "evidence": {"@id": CK + "hasEvidence", **_ID, **_SET},
        "motivation": {"@id": OA + "motivatedBy", **_VOCAB},
        "body": {"@id": OA + "hasBody", **_ID},
        "target": {"@id": OA + "hasTarget", **_ID},
        "hasSource": {"@id": OA + "hasSource", **_ID},
        "selector": {"@id": OA + "hasSelector", **_ID},
        "quote": {"@id": OA + "exact"},
        "prefix": {"@id": OA + "prefix"},
        "suffix": {"@id": OA + "suffix"},
        "cites": {"@id": CITO + "citesAsEvidence", **_ID, **_SET},
        "unresolvedMarkers": {"@id": CK + "unresolvedCitationMarker", **_SET},
        # sources and references
        "title": {"@id": DCTERMS + "title", **_EN},
        "sourceKind": {"@id": CK + "sourceKind", **_VOCAB},
        "url": {"@id": SCHEMA + "url", **_ID},
        "referenceKind": {"@id": CK + "referenceKind", **_VOCAB},
        "referenceTitle": {"@id": DCTERMS + "title"},
        "citation": {"@id": DCTERMS + "bibliographicCitation"},
        "year": {"@id": DCTERMS + "issued", "@type": XSD + "gYear"},
        "doi": {"@id": BIBO + "doi"},
        "peerReviewed": {"@id": CK + "peerReviewed"},
        "mentionText": {"@id": CK + "mentionText"},
    }
    for name, term in RELATION_TERMS.items():
        pred = PREDICATES[name]
        t[term] = {"@id": pred.iri, **(_EN if pred.literal else _ID), **_SET}
    return t


TERMS: Final[dict[str, dict[str, Any]]] = _terms()


def context_iri(base: str) -> str:
    """Where the context is published: under the dataset's base, with the major version."""
    return f"{base}context/v{CONTEXT_MAJOR}.jsonld"


def context_path() -> str:
    return f"context/v{CONTEXT_MAJOR}.jsonld"


def api_context() -> dict[str, Any]:
    """The context object. No @base: JSON-LD ignores @base in remote contexts, so API
    documents use absolute IRIs for every node."""
    return {"@version": 1.1, "@vocab": CK, "id": "@id", **PREFIXES, **TERMS}


class ShapeError(ValueError):
    """The graph has a shape the API documents cannot represent exactly."""


# ------------------------------------------------------------------ values under the context


def compact(iri: str) -> str:
    """A value of a @vocab-coerced term or of `type`: ontology terms by local name (unless a
    term has that name: it would take precedence when expanding)."""
    if iri.startswith(CK):
        local = iri[len(CK) :]
        taken = local in TERMS or local in PREFIXES or local == "id"
        if not taken and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", local):
            return local
    return prefixed(iri)


def prefixed(iri: str) -> str:
    """A value of an @id-coerced term: a compact IRI when a prefix applies."""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", iri[len(ns) :]):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def iri_of(term: Term) -> str:
    if not isinstance(term, NamedNode):
        raise ShapeError(f"expected an IRI, found the literal {term}")
    return str(term.value)


def text(term: Term, language: str | None) -> str:
    """A string literal whose language matches the term's coercion."""
    plain = XSD + "string"
    if not isinstance(term, Literal) or term.language != language:
        raise ShapeError(f"expected a string with language {language!r}, found {term}")
    if language is None and term.datatype.value != plain:
        raise ShapeError(f"expected a plain string, found {term}")
    return str(term.value)


def number(term: Term) -> Any:
    if isinstance(term, Literal) and term.datatype.value == XSD + "integer":
        return int(term.value)
    if isinstance(term, Literal) and term.datatype.value == XSD + "decimal":
        return {"@value": term.value, "@type": "xsd:decimal"}
    raise ShapeError(f"expected an integer or decimal, found {term}")


def boolean(term: Term) -> bool:
    if isinstance(term, Literal) and term.datatype.value == XSD + "boolean":
        return bool(term.value == "true")
    raise ShapeError(f"expected a boolean, found {term}")


def typed(term: Term, datatype: str) -> str:
    if isinstance(term, Literal) and term.datatype.value == datatype and not term.language:
        return str(term.value)
    raise ShapeError(f"expected a literal of type {datatype}, found {term}")
