"""What a condition's page may say: its claims grouped into relations, judged by the policy.

A relation is one subject, one kind of link and one object (or text value). Its status comes
from the independent sources only (not reader comments, not copies; a section of a document
counts as that document): disputed if any disputes it, supported if at least `min_sources`
state it as fact, reported if fewer do, hypothesis if sources only propose it, mentioned if
they only name it. Both the markup and the HTML page are drawn from these records, so the
page shows every value the markup carries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.markup.policy import WORD, InclusionPolicy
from pipeline.model import Claim, Corpus, Entity, Reference, Source
from pipeline.triage import Duplicate

STATUSES = ("supported", "reported", "disputed", "hypothesis", "mentioned")
STATUS_LABELS = {
    "supported": "Supported",
    "reported": "Reported",
    "disputed": "Disputed",
    "hypothesis": "Hypothesis",
    "mentioned": "Mentioned",
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    predicates: tuple[str, ...]


SECTIONS = (
    Section("causes", "Causes and mechanisms", ("has-cause", "has-mechanism")),
    Section("risk-factors", "Risk factors", ("has-risk-factor",)),
    Section("treatments", "Treatments", ("has-treatment",)),
    Section("preventions", "Prevention", ("has-prevention",)),
    Section("symptoms", "Signs and symptoms", ("has-symptom",)),
    Section("anatomy", "Parts of the body involved", ("affects-anatomy",)),
    Section(
        "course",
        "Course, outlook and who gets it",
        ("natural-progression", "expected-prognosis", "epidemiology"),
    ),
    Section("care", "When to see a clinician", ("seek-care-when",)),
    Section("features", "Other features", ("characteristic",)),
    Section("related", "Related conditions", ("has-subtype", "associated-with", "leads-to")),
)
_SECTION_OF = {p: s for s in SECTIONS for p in s.predicates}
_MERGED = {"has-mechanism": "has-cause"}  # one item per cause, whether called cause or mechanism

# How a relation is put in words when it is not stated as established: a noun phrase.
_PHRASES = {
    "has-cause": "{o} as a cause of {s}",
    "has-mechanism": "{o} as a mechanism of {s}",
    "has-risk-factor": "{o} as a risk factor for {s}",
    "has-treatment": "{o} as a treatment for {s}",
    "has-prevention": "{o} to prevent {s}",
    "has-symptom": "{o} as a sign or symptom of {s}",
    "affects-anatomy": "{s} involving the {o}",
    "has-subtype": "{o} as a kind of {s}",
    "associated-with": "{s} associated with {o}",
    "leads-to": "{s} leading to {o}",
}


@dataclass(frozen=True)
class ShownClaim:
    claim: Claim
    source: Source
    independent: bool  # False: a copy, shown only because an independent source agrees


@dataclass(frozen=True)
class Relation:
    subject: Entity
    predicate: str  # has-mechanism is folded into has-cause
    predicates: tuple[str, ...]  # the predicates the claims used
    target: Entity | None
    value: str | None
    status: str
    claims: tuple[ShownClaim, ...]
    backing: tuple[str, ...]  # independent sources stating or proposing it
    disputing: tuple[str, ...]  # independent sources disputing it
    populations: tuple[str, ...]  # set when every supporting source limits it to a population
    wording: str  # the statement as published: plain if supported, else prefixed
    structured: bool  # may go into a structured schema.org property

    @property
    def label(self) -> str:
        return self.target.label if self.target else self.value or ""

    @property
    def qualifier(self) -> str | None:
        return f"Stated for: {'; '.join(self.populations)}" if self.populations else None


@dataclass(frozen=True)
class ConditionView:
    entity: Entity
    sections: tuple[tuple[Section, tuple[Relation, ...]], ...]  # non-empty sections only
    sources: tuple[Source, ...]  # the independent documents the page is based on
    references: tuple[Reference, ...]  # scholarly references cited

    def relations(self, *keys: str) -> list[Relation]:
        return [r for s, rels in self.sections if not keys or s.key in keys for r in rels]


def source_label(source: Source) -> str:
    """How a source is named in worded statements and on the page."""
    title = f"\u201c{source.title}\u201d"
    return f"{source.publisher}, {title}" if source.publisher else title


def _mid(label: str) -> str:
    """A label inside a sentence: "Muscle cramp" -> "muscle cramp", "GTO" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


class _Judge:
    def __init__(self, corpus: Corpus, duplicates: Iterable[Duplicate], policy: InclusionPolicy):
        self.corpus, self.policy = corpus, policy
        sources = corpus.sources.values()
        self.copies = {d.copy for d in duplicates} | {
            s.id for s in sources if s.copy_of or s.kind == "republished-copy"
        }
        self.anecdotal = {s.id for s in sources if s.kind == "reader-comments"}

    def independent(self, source_id: str) -> bool:
        return source_id not in self.copies and source_id not in self.anecdotal

    def root(self, source_id: str) -> str:
        """A section of a document (partOf) is the same document, not another source."""
        seen = {source_id}
        while (parent := self.corpus.sources[source_id].part_of) and parent not in seen:
            if parent not in self.corpus.sources:
                break
            seen.add(parent)
            source_id = parent
        return source_id

    def relation(self, claims: list[Claim]) -> Relation | None:
        own = [c for c in claims if self.independent(c.source)]
        if not own:
            return None  # only reader comments or copies say it
        by_stance: dict[str, list[str]] = defaultdict(list)
        for c in own:
            root = self.root(c.source)
            if root not in by_stance[c.stance]:
                by_stance[c.stance].append(root)
        supporting, disputing = by_stance["supports"], by_stance["disputes"]
        if disputing:
            status = "disputed"
        elif len(supporting) >= self.policy.min_sources:
            status = "supported"
        elif supporting:
            status = "reported"
        elif by_stance["hypothesis"]:
            status = "hypothesis"
        else:
            status = "mentioned"
        shown_setting = {
            "disputed": self.policy.disputes,
            "reported": self.policy.hypotheses,
            "hypothesis": self.policy.hypotheses,
            "mentioned": self.policy.mentions,
        }
        if shown_setting.get(status, WORD) != WORD:
            return None
        keep_mentions = status == "mentioned" or self.policy.mentions == WORD
        stances = {c.stance for c in own}
        shown = [
            ShownClaim(c, self.corpus.sources[c.source], self.independent(c.source))
            for c in claims
            if (c.stance != "mentions" or keep_mentions)
            and (
                self.independent(c.source)
                or (
                    self.policy.show_corroborated_copies
                    and c.source in self.copies
                    and c.source not in self.anecdotal
                    and c.stance in stances
                )
            )
        ]
        first = claims[0]
        subject = self.corpus.entities[first.subject]
        target = self.corpus.entities[first.object] if first.object else None
        support_claims = [c for c in own if c.stance == "supports"]
        populations = (
            tuple(sorted({c.population for c in support_claims if c.population}))
            if support_claims and all(c.population for c in support_claims)
            else ()
        )
        predicate = _MERGED.get(first.predicate, first.predicate)
        predicates = tuple(sorted({c.predicate for c in own}))
        backing = tuple(dict.fromkeys(by_stance["supports"] + by_stance["hypothesis"]))
        wording = _word(
            status,
            _statement(predicate, predicates, subject, target, first.value),
            {
                stance: [source_label(self.corpus.sources[s]) for s in roots]
                for stance, roots in by_stance.items()
            },
        )
        structured = status == "supported" and (
            not populations or self.policy.population_specific == "qualify"
        )
        return Relation(
            subject,
            predicate,
            predicates,
            target,
            first.value,
            status,
            tuple(shown),
            backing,
            tuple(disputing),
            populations,
            wording,
            structured,
        )


def _statement(
    predicate: str,
    predicates: tuple[str, ...],
    subject: Entity,
    target: Entity | None,
    value: str | None,
) -> str:
    if target is None:
        return value or ""
    phrase = _PHRASES[predicates[0] if len(predicates) == 1 else predicate]
    first = phrase.startswith("{o}")  # the sentence starts with the object: keep its capital
    return phrase.format(o=target.label if first else _mid(target.label), s=_mid(subject.label))


def _word(status: str, statement: str, by: dict[str, list[str]]) -> str:
    """The published wording: established relations plainly, the rest with who says what."""
    if status == "supported":
        return statement
    if status == "disputed":
        parts = [f"disputed by {'; '.join(by['disputes'])}"]
        if by.get("supports"):
            parts.append(f"stated by {'; '.join(by['supports'])}")
        if by.get("hypothesis"):
            parts.append(f"proposed by {'; '.join(by['hypothesis'])}")
        who = "; ".join(parts)
    else:
        key = {"reported": "supports", "hypothesis": "hypothesis", "mentioned": "mentions"}[status]
        who = "; ".join(by[key])
    text = statement.rstrip(".")
    return f"{STATUS_LABELS[status]} ({who}): {text}."


def _sort_key(r: Relation) -> tuple[int, int, str, str]:
    return (STATUSES.index(r.status), -len(r.backing), r.label.casefold(), r.predicate)


def condition_views(
    corpus: Corpus, duplicates: Iterable[Duplicate], policy: InclusionPolicy
) -> list[ConditionView]:
    """One view per condition that has at least one claim the policy lets through."""
    judge = _Judge(corpus, duplicates, policy)
    groups: dict[tuple[str, str, str, str], list[Claim]] = defaultdict(list)
    for claim in sorted(corpus.claims.values(), key=lambda c: c.id):
        subject = corpus.entities.get(claim.subject)
        if subject is None or subject.type != "condition" or claim.predicate not in _SECTION_OF:
            continue
        predicate = _MERGED.get(claim.predicate, claim.predicate)
        groups[(claim.subject, predicate, claim.object or "", claim.value or "")].append(claim)
    by_condition: dict[str, dict[str, list[Relation]]] = defaultdict(lambda: defaultdict(list))
    for (subject_id, predicate, _, _), claims in sorted(groups.items()):
        relation = judge.relation(claims)
        if relation is not None:
            by_condition[subject_id][_SECTION_OF[predicate].key].append(relation)
    by_source: dict[str, list[Reference]] = defaultdict(list)  # one pass, not one per page
    for ref in corpus.references.values():
        by_source[ref.source].append(ref)
    views = []
    for cid in sorted(by_condition):
        sections = tuple(
            (s, tuple(sorted(by_condition[cid][s.key], key=_sort_key)))
            for s in SECTIONS
            if by_condition[cid].get(s.key)
        )
        shown = [c for _, rels in sections for r in rels for c in r.claims]
        source_ids = sorted({c.source.id for c in shown if c.independent})
        views.append(
            ConditionView(
                corpus.entities[cid],
                sections,
                tuple(corpus.sources[s] for s in source_ids),
                _references(corpus, by_source, source_ids, shown, policy),
            )
        )
    return views


def _references(
    corpus: Corpus,
    by_source: Mapping[str, list[Reference]],
    source_ids: list[str],
    shown: list[ShownClaim],
    policy: InclusionPolicy,
) -> tuple[Reference, ...]:
    """The scholarly works behind the page: the bibliographies of its independent sources and
    the references their quoted evidence cites. Named mentions are never resolved by guess."""
    cited = {r for c in shown if c.independent for ev in c.claim.evidence for r in ev.references}
    found = {r.id: r for s in source_ids for r in by_source.get(s, ())}
    found.update((i, corpus.references[i]) for i in cited if i in corpus.references)
    refs = [r for r in found.values() if r.kind in policy.citation_kinds]
    return tuple(sorted(refs, key=lambda r: (r.source, r.marker or "~", r.id)))
