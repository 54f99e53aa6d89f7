"""The vocabulary in one place: namespaces, the YAML-to-RDF tables, code systems.

The loader, the graph builder, the shapes and the docs all follow these tables; a new predicate
or entity type is added here (and in the ontology, shapes and JSON Schema), nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

CK: Final = "https://w3id.org/crampkg/ontology#"
ONTOLOGY_IRI: Final = "https://w3id.org/crampkg/ontology"
DEFAULT_BASE: Final = "https://w3id.org/crampkg/"
SCHEMAORG_RELEASE: Final = "30.0"  # the schema.org release whose terms the graph uses

SCHEMA: Final = "http://schema.org/"
SKOS: Final = "http://www.w3.org/2004/02/skos/core#"
PROV: Final = "http://www.w3.org/ns/prov#"
OA: Final = "http://www.w3.org/ns/oa#"
DCTERMS: Final = "http://purl.org/dc/terms/"
CITO: Final = "http://purl.org/spar/cito/"
BIBO: Final = "http://purl.org/ontology/bibo/"
SPDX: Final = "http://spdx.org/rdf/terms#"
RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS: Final = "http://www.w3.org/2000/01/rdf-schema#"
OWL: Final = "http://www.w3.org/2002/07/owl#"
XSD: Final = "http://www.w3.org/2001/XMLSchema#"
SH: Final = "http://www.w3.org/ns/shacl#"

PREFIXES: Final[dict[str, str]] = {
    "ck": CK,
    "schema": SCHEMA,
    "skos": SKOS,
    "prov": PROV,
    "oa": OA,
    "dcterms": DCTERMS,
    "cito": CITO,
    "bibo": BIBO,
    "spdx": SPDX,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
}

# YAML entity `type` -> ontology class.
ENTITY_TYPES: Final[dict[str, str]] = {
    "condition": CK + "Condition",
    "mechanism": CK + "Mechanism",
    "risk-factor": CK + "RiskFactor",
    "treatment": CK + "Treatment",
    "prevention": CK + "Prevention",
    "symptom": CK + "Symptom",
    "anatomy": CK + "AnatomicalStructure",
    "drug": CK + "Drug",
}


@dataclass(frozen=True)
class Predicate:
    """A claim predicate: its RDF property and which entity types it connects."""

    name: str
    iri: str
    subjects: tuple[str, ...]
    objects: tuple[str, ...]  # empty: literal-valued (`value` in YAML)

    @property
    def literal(self) -> bool:
        return not self.objects


_P = Predicate
PREDICATES: Final[dict[str, Predicate]] = {
    p.name: p
    for p in (
        _P(
            "has-cause",
            CK + "hasCause",
            ("condition",),
            ("condition", "risk-factor", "drug", "mechanism"),
        ),
        _P("has-mechanism", CK + "hasMechanism", ("condition",), ("mechanism",)),
        _P(
            "has-risk-factor",
            CK + "hasRiskFactor",
            ("condition",),
            ("risk-factor", "condition", "drug"),
        ),
        _P("has-treatment", CK + "hasTreatment", ("condition",), ("treatment", "drug")),
        _P(
            "has-prevention",
            CK + "hasPrevention",
            ("condition",),
            ("prevention", "treatment", "drug"),
        ),
        _P("has-symptom", CK + "hasSymptom", ("condition",), ("symptom", "condition")),
        _P("affects-anatomy", CK + "affectsAnatomy", ("condition", "mechanism"), ("anatomy",)),
        _P("has-subtype", CK + "hasSubtype", ("condition",), ("condition",)),
        _P("associated-with", CK + "associatedWith", ("condition",), ("condition", "risk-factor")),
        _P(
            "involves",
            CK + "involves",
            ("mechanism",),
            ("anatomy", "mechanism", "condition", "risk-factor"),
        ),
        _P(
            "leads-to",
            CK + "leadsTo",
            ("mechanism", "risk-factor", "condition"),
            ("mechanism", "condition", "symptom"),
        ),
        _P(
            "has-adverse-effect",
            CK + "hasAdverseEffect",
            ("drug", "treatment"),
            ("condition", "symptom"),
        ),
        _P("natural-progression", CK + "naturalProgression", ("condition",), ()),
        _P("expected-prognosis", CK + "expectedPrognosis", ("condition",), ()),
        _P("epidemiology", CK + "epidemiology", ("condition",), ()),
        _P("characteristic", CK + "characteristic", tuple(ENTITY_TYPES), ()),
        _P("seek-care-when", CK + "seekCareWhen", ("condition",), ()),
    )
}

STANCES: Final[dict[str, str]] = {
    s: CK + s for s in ("supports", "disputes", "hypothesis", "mentions")
}

SOURCE_KINDS: Final[dict[str, str]] = {
    "editorial-article": CK + "editorialArticle",
    "clinician-summary": CK + "clinicianSummary",
    "republished-copy": CK + "republishedCopy",
    "blog-post": CK + "blogPost",
    "reader-comments": CK + "readerComments",
}

REFERENCE_KINDS: Final[dict[str, str]] = {
    "journal-article": CK + "journalArticle",
    "review": CK + "review",
    "guideline": CK + "guideline",
    "web-page": CK + "webPage",
    "book": CK + "book",
    "named-mention": CK + "namedMention",
}

AUDIENCES: Final[dict[str, str]] = {
    "patient": SCHEMA + "Patient",
    "clinician": SCHEMA + "Clinician",
    "general-public": CK + "GeneralPublic",
    "athlete": CK + "Athlete",
}

MATCHES: Final[dict[str, str]] = {
    m: f"{SKOS}{m}Match" for m in ("exact", "close", "broad", "narrow", "related")
}

VERIFICATION: Final[dict[str, str]] = {
    "verified": CK + "verified",
    "label-from-other-vocabulary": CK + "labelFromOtherVocabulary",
}


@dataclass(frozen=True)
class CodeSystem:
    """A standard terminology: how its codes look and how they become IRIs."""

    name: str
    slug: str
    pattern: re.Pattern[str]
    example: str
    iri_template: str  # {code} is the code; {local} the part after "PREFIX:"

    def iri(self, code: str) -> str:
        local = code.split(":", 1)[1] if ":" in code else code
        prefix = code.split(":", 1)[0] if ":" in code else ""
        return self.iri_template.format(code=code, local=local, prefix=prefix)


def _cs(name: str, slug: str, pattern: str, example: str, template: str) -> CodeSystem:
    return CodeSystem(name, slug, re.compile(pattern), example, template)


_OBO = "http://purl.obolibrary.org/obo/{prefix}_{local}"
CODE_SYSTEMS: Final[dict[str, CodeSystem]] = {
    c.name: c
    for c in (
        _cs("MeSH", "mesh", r"[CD][0-9]{6,9}", "D009120", "http://id.nlm.nih.gov/mesh/{code}"),
        _cs(
            "ICD-10-CM",
            "icd-10-cm",
            r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?",
            "R25.2",
            "http://purl.bioontology.org/ontology/ICD10CM/{code}",
        ),
        _cs(
            "ICD-10",
            "icd-10",
            r"[A-Z][0-9]{2}(\.[0-9]{1,2})?",
            "R25.2",
            "http://purl.bioontology.org/ontology/ICD10/{code}",
        ),
        _cs(
            "SNOMED-CT",
            "snomed-ct",
            r"[1-9][0-9]{5,17}",
            "55300003",
            "http://snomed.info/id/{code}",
        ),
        _cs(
            "UMLS",
            "umls",
            r"C[0-9]{7}",
            "C0026821",
            "http://linkedlifedata.com/resource/umls/id/{code}",
        ),
        _cs("HPO", "hpo", r"HP:[0-9]{7}", "HP:0003394", _OBO),
        _cs("MONDO", "mondo", r"MONDO:[0-9]{7}", "MONDO:0005154", _OBO),
        _cs("DOID", "doid", r"DOID:[0-9]+", "DOID:409", _OBO),
        _cs("UBERON", "uberon", r"UBERON:[0-9]{7}", "UBERON:0001665", _OBO),
        _cs("CL", "cl", r"CL:[0-9]{7}", "CL:0000100", _OBO),
        _cs("ChEBI", "chebi", r"CHEBI:[0-9]+", "CHEBI:2972", _OBO),
        _cs(
            "DrugBank", "drugbank", r"DB[0-9]{5}", "DB00181", "https://go.drugbank.com/drugs/{code}"
        ),
        _cs(
            "RxNorm",
            "rxnorm",
            r"[0-9]+",
            "1292",
            "http://purl.bioontology.org/ontology/RXNORM/{code}",
        ),
        _cs("ECTO", "ecto", r"ECTO:[0-9]{7}", "ECTO:1000007", _OBO),
        _cs("ENVO", "envo", r"ENVO:[0-9]{8}", "ENVO:01000305", _OBO),
    )
}
