"""A condition's view -> a schema.org `MedicalWebPage` about its `MedicalCondition` (a dict).

Only relations the policy lets through as established go into structured properties
(`cause`, `riskFactor`, ...); disputed, proposed or reported causes are worded in
`pathophysiology`, contested text values in their own property with the same prefix, and
other contested relations are left out of the markup (the page shows them, marked). Each node
gets the most specific type the vocabulary allows in that property; when the entity's own type
is not in the property's range (a lifestyle change as a `primaryPrevention`, whose range is
`MedicalTherapy`), the node carries both types.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.markup.evidence import ConditionView, Relation
from pipeline.markup.policy import AUDIENCES, InclusionPolicy
from pipeline.markup.schemaorg_vocab import CONTEXT_URL, Vocabulary
from pipeline.model import Entity, Reference, Source
from pipeline.vocab import CODE_SYSTEMS

ENTITY_TYPES = {
    "condition": "MedicalCondition",
    "mechanism": "MedicalCause",
    "risk-factor": "MedicalRiskFactor",
    "treatment": "MedicalTherapy",
    "prevention": "LifestyleModification",
    "symptom": "MedicalSignOrSymptom",
    "anatomy": "AnatomicalStructure",
    "drug": "Drug",
}
# predicate -> (property, the type a value takes when its own type is out of range)
STRUCTURED = {
    "has-cause": ("cause", "MedicalCause"),
    "has-risk-factor": ("riskFactor", "MedicalRiskFactor"),
    "has-treatment": ("possibleTreatment", "MedicalTherapy"),
    "has-prevention": ("primaryPrevention", "MedicalTherapy"),
    "has-symptom": ("signOrSymptom", "MedicalSignOrSymptom"),
    "affects-anatomy": ("associatedAnatomy", "AnatomicalStructure"),
}
TEXT = {
    "natural-progression": "naturalProgression",
    "expected-prognosis": "expectedPrognosis",
    "epidemiology": "epidemiology",
}
WORDED = {"has-cause": "pathophysiology", **TEXT}  # where contested relations are worded
SOURCE_TYPES = {"blog-post": "BlogPosting"}  # other sources are Articles
REFERENCE_TYPES = {
    "journal-article": "ScholarlyArticle",
    "review": "ScholarlyArticle",
    "book": "Book",
}
_ORGANISATION = re.compile(
    r"\b(Academy|Agency|Association|Board|College|Committee|Council|Department|Editors|"
    r"Foundation|Group|Institute|Organi[sz]ation|Society|University)\b"
)


def page_name(entity: Entity) -> str:
    return f"{entity.label}: what the sources say"


def entity_iri(base: str, entity: Entity) -> str:
    return f"{base}entity/{entity.id}"


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def code_iri(system: str, code: str) -> str:
    return CODE_SYSTEMS[system].iri(code)


def agent(name: str) -> dict[str, Any]:
    """An author given only by name: an Organization when the name says so, else a Person."""
    return {"@type": "Organization" if _ORGANISATION.search(name) else "Person", "name": name}


def _one(types: list[str]) -> str | list[str]:
    return types[0] if len(types) == 1 else types


def _types(vocab: Vocabulary, entity: Entity, prop: str, role: str) -> list[str]:
    own = entity.schema_type if entity.schema_type in vocab.classes else None
    base = own or ENTITY_TYPES[entity.type]
    if vocab.is_a({base}, vocab.ranges[prop]):
        return [base]
    return [role, base]


def _dose_schedules(relation: Relation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for shown in relation.claims:
        c = shown.claim
        if not shown.independent or c.stance != "supports" or c.dose is None:
            continue
        value = int(c.dose.value) if c.dose.value.is_integer() else c.dose.value
        schedule: dict[str, Any] = {"@type": "DoseSchedule", "doseValue": value}
        schedule["doseUnit"] = c.dose.unit
        if c.dose.qualifier:
            schedule["description"] = c.dose.qualifier
        if c.population:
            schedule["targetPopulation"] = c.population
        if schedule not in out:
            out.append(schedule)
    return out


def relation_node(vocab: Vocabulary, relation: Relation) -> dict[str, Any]:
    """The typed node of an established relation's object, for its structured property."""
    assert relation.target is not None
    prop, role = STRUCTURED[relation.predicate]
    types = _types(vocab, relation.target, prop, role)
    node: dict[str, Any] = {"@type": _one(types), "name": relation.target.label}
    if relation.qualifier:
        node["description"] = relation.qualifier
    schedules = _dose_schedules(relation)
    if schedules and vocab.is_a(set(types), vocab.domains["doseSchedule"]):
        node["doseSchedule"] = schedules
    return node


def condition_node(
    view: ConditionView, vocab: Vocabulary, policy: InclusionPolicy, base: str
) -> dict[str, Any]:
    e = view.entity
    own = e.schema_type if e.schema_type in vocab.classes else None
    kind = own if own and vocab.is_a({own}, frozenset({"MedicalCondition"})) else None
    node: dict[str, Any] = {
        "@type": kind or "MedicalCondition",
        "@id": entity_iri(base, e),
        "name": e.label,
    }
    if e.alt_labels:
        node["alternateName"] = list(e.alt_labels)
    if e.description:
        node["description"] = e.description
    codes = [c for c in e.codes if c.match in policy.code_matches]
    if codes:
        node["code"] = [
            {"@type": "MedicalCode", "codeValue": c.code, "codingSystem": c.system} for c in codes
        ]
    same_as = [code_iri(c.system, c.code) for c in e.codes if c.match in policy.same_as_matches]
    if same_as:
        node["sameAs"] = list(dict.fromkeys(same_as))
    values: dict[str, list[Any]] = {}
    for relation in view.relations():
        if relation.structured and relation.predicate in STRUCTURED:
            prop = STRUCTURED[relation.predicate][0]
            item: Any = relation_node(vocab, relation)
        elif relation.structured and relation.predicate in TEXT:
            prop, item = TEXT[relation.predicate], relation.wording
        elif relation.status != "supported" and relation.predicate in WORDED:
            prop, item = WORDED[relation.predicate], relation.wording
        else:
            continue  # contested, and no property words it: on the page only
        if item not in values.setdefault(prop, []):
            values[prop].append(item)
    node.update(values)
    return node


def source_node(base: str, source: Source) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": SOURCE_TYPES.get(source.kind, "Article"),
        "@id": f"{base}source/{source.id}",
        "name": source.title,
    }
    if source.authors:
        node["author"] = [agent(p.name) for p in source.authors]
    if source.publisher:
        node["publisher"] = {"@type": "Organization", "name": source.publisher}
    if source.published:
        node["datePublished"] = source.published
    if source.updated:
        node["dateModified"] = source.updated
    if source.url:
        node["url"] = source.url
    return node


def reference_node(ref: Reference) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@type": REFERENCE_TYPES.get(ref.kind, "CreativeWork"),
        "name": ref.title or ref.citation or ref.id,
    }
    if ref.authors:
        node["author"] = [agent(a) for a in ref.authors]
    if ref.year is not None:
        node["datePublished"] = f"{ref.year:04d}"
    if ref.container:
        periodical = ref.kind in ("journal-article", "review")
        node["isPartOf"] = {
            "@type": "Periodical" if periodical else "CreativeWork",
            "name": ref.container,
        }
    if ref.doi:
        node["sameAs"] = doi_url(ref.doi)
    if ref.url:
        node["url"] = ref.url
    return node


def page_markup(
    view: ConditionView, vocab: Vocabulary, policy: InclusionPolicy, base: str
) -> dict[str, Any]:
    """The JSON-LD document of one condition's page; `@context` is the schema.org URL, which
    nothing here fetches (the checks read the vendored context)."""
    page: dict[str, Any] = {"@context": CONTEXT_URL, "@type": "MedicalWebPage"}
    if policy.site_url:
        page["@id"] = page["url"] = f"{policy.site_url}{view.entity.id}.html"
    page["name"] = page_name(view.entity)
    page["about"] = condition_node(view, vocab, policy, base)
    page["medicalAudience"] = {
        "@type": "MedicalAudience",
        "audienceType": AUDIENCES[policy.audience],
    }
    if policy.last_reviewed:
        page["lastReviewed"] = policy.last_reviewed
    if policy.reviewed_by:
        page["reviewedBy"] = agent(policy.reviewed_by)
    if view.references:
        page["citation"] = [reference_node(r) for r in view.references]
    if view.sources:
        page["isBasedOn"] = [source_node(base, s) for s in view.sources]
    return page
