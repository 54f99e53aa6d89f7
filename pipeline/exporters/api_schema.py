"""The JSON Schemas (draft 2020-12) of the API documents: the contract apps generate types from.

One table per object holds its keys in document order (the exporter writes keys in this order),
with a title and a description for each. Arrays are always present, possibly empty; optional
single values are left out when absent; no other keys are allowed.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pipeline.exporters.api_context import RELATION_TERMS, context_iri, context_path
from pipeline.vocab import PREDICATES, REFERENCE_KINDS, SOURCE_KINDS, STANCES, VERIFICATION

Field = tuple[str, dict[str, Any], bool]  # key, schema with title and description, required

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
STR: Final = {"type": "string", "minLength": 1}
TYPES: Final = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
IRI: Final = {"type": "string", "format": "iri", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*:"}

# What each relation group of a condition holds, for the descriptions.
GROUPS: Final[dict[str, str]] = {
    "has-cause": "what causes it",
    "has-mechanism": "its mechanisms",
    "has-risk-factor": "its risk factors",
    "has-treatment": "its treatments",
    "has-prevention": "its preventions",
    "has-symptom": "its symptoms",
    "affects-anatomy": "the anatomy it affects",
    "has-subtype": "its subtypes",
    "associated-with": "what it is associated with",
    "involves": "what it involves",
    "leads-to": "what it leads to",
    "has-adverse-effect": "its adverse effects",
    "natural-progression": "its natural progression",
    "expected-prognosis": "its expected prognosis",
    "epidemiology": "its epidemiology",
    "characteristic": "its characteristics",
    "seek-care-when": "when to seek care",
}


def _title(key: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key.lstrip("@")).lower()


def f(key: str, description: str, schema: dict[str, Any], required: bool = True) -> Field:
    """A field; its title is its key in words (riskFactors: "risk factors")."""
    return key, {"title": _title(key), "description": description, **schema}, required


def array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def enum(iris: Any) -> dict[str, Any]:
    """The values of a @vocab-coerced term: ontology individuals by local name."""
    return {"enum": sorted(str(i).rsplit("#", 1)[-1] for i in iris)}


def obj(title: str, description: str, fields: list[Field]) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "type": "object",
        "properties": {key: schema for key, schema, _ in fields},
        "required": [key for key, _, required in fields if required],
        "additionalProperties": False,
    }


def _id(what: str) -> Field:
    return f("id", f"The stable, absolute IRI of the {what}.", IRI)


def _type(what: str, values: str, contains: str | None = None) -> Field:
    extra = {"contains": {"const": contains}} if contains else {}
    return f("type", f"The RDF classes of the {what}: {values}.", {**TYPES, **extra})


def _claim(literal: bool) -> list[Field]:
    predicates = sorted(
        "ck:" + p.iri.rsplit("#", 1)[-1] for p in PREDICATES.values() if p.literal == literal
    )
    value = [f("value", "The English text the claim states (rdf:object).", STR)]
    return [
        _id("claim"),
        _type("claim", "Claim, and AnecdotalClaim when the source is reader comments", "Claim"),
        f("subject", "The IRI of the entity the claim is about (rdf:subject).", IRI),
        f("predicate", "The relation claimed, as a compact IRI.", {"enum": predicates}),
        *(value if literal else []),
        f(
            "stance",
            "How the source presents the relation: supports, disputes, hypothesis (offered as "
            "possible) or mentions (named without a position).",
            enum(STANCES.values()),
        ),
        f("population", "Who the claim is restricted to, in English.", STR, False),
        f("note", "The curator's editorial note, in English.", STR, False),
        f("source", "The document the claim comes from (prov:wasDerivedFrom).", ref("Source")),
        f("dose", "The dose schedule the claim gives.", ref("Dose"), False),
        f(
            "evidence",
            "The passages of the source that state the claim, in curated order.",
            array(ref("Evidence"), minItems=1),
        ),
    ]


_DECIMAL: Final = {
    "type": "object",
    "properties": {
        "@value": {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]+$"},
        "@type": {"const": "xsd:decimal"},
    },
    "required": ["@value", "@type"],
    "additionalProperties": False,
}


def _defs() -> dict[str, Any]:
    entity = [
        _id("entity"),
        _type("entity", "Condition, RiskFactor, Treatment... and skos:Concept"),
        f("label", "The preferred English label (skos:prefLabel).", STR),
    ]
    claims = f(
        "claims",
        "The claims whose subject is the condition and whose object is this entity, for the "
        "relation of the enclosing list, whatever their stance.",
        array(ref("Claim")),
    )
    return {
        "EntitySummary": obj("Entity", "An entity of the catalogue.", entity),
        "RelatedEntity": obj(
            "Related entity",
            "An entity related to the condition, with the claims that relate them.",
            [*entity, claims],
        ),
        "Claim": obj(
            "Claim", "What one source says relates the condition to an entity.", _claim(False)
        ),
        "Statement": obj("Statement", "A claim whose object is a text.", _claim(True)),
        "Source": obj(
            "Source document",
            "The document a claim comes from (graph.jsonld has its full record).",
            [
                _id("source document"),
                f("title", "The document's English title.", STR),
                f(
                    "sourceKind",
                    "The kind of document; readerComments are anecdotal.",
                    enum(SOURCE_KINDS.values()),
                ),
                f("url", "Where the document was published.", IRI, False),
            ],
        ),
        "Dose": obj(
            "Dose schedule",
            "The dose a claim about a drug gives.",
            [
                _id("dose schedule"),
                _type("dose schedule", "schema:DoseSchedule"),
                f(
                    "doseValue",
                    "The amount: an integer, or an xsd:decimal value object.",
                    {"oneOf": [{"type": "integer"}, _DECIMAL]},
                ),
                f("doseUnit", "The unit, e.g. mg/day.", STR),
                f("comment", "A qualifier such as 'starting dose', in English.", STR, False),
            ],
        ),
        "Evidence": obj(
            "Evidence",
            "A Web Annotation: the claim (body) described by a quote (target) of the source.",
            [
                _id("evidence"),
                _type("evidence", "Evidence and oa:Annotation"),
                f("motivation", "Always oa:describing.", {"const": "oa:describing"}),
                f("body", "The IRI of the claim.", IRI),
                f("target", "Where the quote is.", ref("Target")),
                f("cites", "The references the passage cites.", array(ref("Reference"))),
                f(
                    "unresolvedMarkers",
                    "Citation markers in the passage that the source lists no reference for.",
                    array(STR),
                ),
            ],
        ),
        "Target": obj(
            "Target",
            "A part of the source document.",
            [
                _id("target"),
                _type("target", "oa:SpecificResource"),
                f("hasSource", "The IRI of the source document (the claim's source).", IRI),
                f("selector", "The quote that selects the passage.", ref("Selector")),
            ],
        ),
        "Selector": obj(
            "Quote",
            "The passage, verbatim, with the text around it when the quote alone is ambiguous.",
            [
                _id("selector"),
                _type("selector", "oa:TextQuoteSelector"),
                f("quote", "The exact words of the source (oa:exact).", STR),
                f("prefix", "The text just before the quote.", STR, False),
                f("suffix", "The text just after the quote.", STR, False),
            ],
        ),
        "Reference": obj(
            "Reference",
            "A work the source cites (a summary: graph.jsonld has its full record).",
            [
                _id("reference"),
                f("referenceKind", "What the reference is.", enum(REFERENCE_KINDS.values())),
                f("citation", "The bibliographic citation as printed.", STR, False),
                f("referenceTitle", "The title of the cited work.", STR, False),
                f(
                    "year",
                    "The publication year.",
                    {"type": "string", "pattern": "^[0-9]{4}$"},
                    False,
                ),
                f("doi", "The DOI, without https://doi.org/.", STR, False),
                f("url", "Where the work can be read.", IRI, False),
                f("peerReviewed", "Whether the work is peer reviewed.", {"type": "boolean"}, False),
                f("mentionText", "A named mention's words, e.g. 'A 2018 review'.", STR, False),
            ],
        ),
        "Code": obj(
            "Code",
            "A code of a standard terminology (MeSH, ICD-10-CM, SNOMED CT...).",
            [
                _id("code"),
                _type("code", "schema:MedicalCode"),
                f("codingSystem", "The terminology, e.g. MeSH.", STR),
                f("codeValue", "The code in that terminology.", STR),
                f("notation", "The code again (skos:notation).", STR),
                f("codeLabel", "The terminology's label for the code.", STR, False),
                f(
                    "verificationStatus",
                    "Whether the code was verified.",
                    enum(VERIFICATION.values()),
                ),
            ],
        ),
    }


def _condition(base: str) -> list[Field]:
    fields = [
        f(
            "@context",
            f"The IRI of the versioned API context. Never fetch it: map it to the local "
            f"{context_path()} with a document loader.",
            {"const": context_iri(base)},
        ),
        _id("condition"),
        _type("condition", "Condition, skos:Concept and any schema.org type", "Condition"),
        f("label", "The preferred English label (skos:prefLabel).", STR),
        f("altLabels", "Other English names.", array(STR)),
        f("definition", "An English definition.", STR, False),
        f("note", "The curator's editorial note, in English.", STR, False),
        f("broader", "More general entities.", array(ref("EntitySummary"))),
        f("codes", "Its codes in standard terminologies.", array(ref("Code"))),
    ]
    for m in ("exact", "close", "broad", "narrow", "related"):
        fields.append(f(f"{m}Match", f"IRIs of other vocabularies' {m} matches.", array(IRI)))
    for name, term in RELATION_TERMS.items():
        what, iri = GROUPS[name], "ck:" + PREDICATES[name].iri.rsplit("#", 1)[-1]
        if PREDICATES[name].literal:
            text = f"Texts stating {what} ({iri}); the claims that state them are `statements`."
            fields.append(f(term, text, array(STR)))
        else:
            text = f"The entities of {what} ({iri}), each with its claims."
            fields.append(f(term, text, array(ref("RelatedEntity"))))
    fields.append(f("statements", "The claims whose object is a text.", array(ref("Statement"))))
    return fields


def condition_schema(base: str) -> dict[str, Any]:
    """The schema of `api/conditions/<slug>.json`."""
    root = obj(
        "Condition document",
        "A condition with everything the corpus claims about it, framed for applications. A "
        "JSON-LD document: expanded with its context it gives triples of graph.nt (docs/api.md).",
        _condition(base),
    )
    return {"$schema": DRAFT, "$id": f"{base}api/condition.schema.json", **root, "$defs": _defs()}


def index_schema(base: str) -> dict[str, Any]:
    """The schema of `api/index.json`."""
    entry = [
        _id("condition"),
        f("slug", "The condition's id; its document is conditions/<slug>.json.", STR),
        f("label", "The preferred English label.", STR),
        f("path", "The condition's document, relative to api/.", STR),
        f("claims", "How many claims have the condition as subject.", {"type": "integer"}),
    ]
    nullable = {"type": ["string", "null"]}
    dataset = [f("title", "The title.", nullable), f("version", "The version.", nullable)]
    root = obj(
        "Condition index",
        "Every condition that is the subject of a claim, with its document.",
        [
            f("context", "The IRI of the API context.", {"const": context_iri(base)}),
            f("schema", "The schema of the documents, relative to api/.", STR),
            f("dataset", "The dataset.", obj("Dataset", "The dataset.", dataset)),
            f("conditions", "The conditions, by IRI.", array(obj("Entry", "A condition.", entry))),
        ],
    )
    return {"$schema": DRAFT, "$id": f"{base}api/index.schema.json", **root}
