"""Per-document triage report for `crampkg sources`: claims, stances, coverage, findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from pipeline.model import Corpus
from pipeline.triage import Triage
from pipeline.vocab import STANCES


@dataclass(frozen=True)
class SourceRow:
    id: str
    kind: str
    language: str
    title: str
    claims: int
    stances: dict[str, int]
    evidence: int
    sentences: int
    covered: int
    coverage: float
    copy_of: str | None
    similarity: float | None
    copies: list[str] = field(default_factory=list)
    foreign_passages: list[dict[str, object]] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)


def source_rows(corpus: Corpus, triage: Triage) -> list[SourceRow]:
    rows = []
    for sid in sorted(corpus.sources):
        src = corpus.sources[sid]
        claims = [c for c in corpus.claims.values() if c.source == sid]
        stances = Counter(c.stance for c in claims)
        cov = triage.coverage.get(sid)
        dup = triage.copy_of(sid)
        rows.append(
            SourceRow(
                id=sid,
                kind=src.kind,
                language=src.language,
                title=src.title,
                claims=len(claims),
                stances={s: stances.get(s, 0) for s in STANCES},
                evidence=sum(len(c.evidence) for c in claims),
                sentences=cov.sentences if cov else 0,
                covered=cov.covered if cov else 0,
                coverage=round(cov.share, 3) if cov else 0.0,
                copy_of=dup.original if dup else None,
                similarity=dup.similarity if dup else None,
                copies=sorted(d.copy for d in triage.duplicates if d.original == sid),
                foreign_passages=[
                    {"language": p.language, "confidence": p.confidence, "excerpt": p.excerpt}
                    for p in triage.passages
                    if p.source == sid
                ],
                uncovered=list(cov.uncovered) if cov else [],
            )
        )
    return rows


def as_json(rows: list[SourceRow]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


def as_table(rows: list[SourceRow], show_uncovered: bool = False) -> str:
    header = (
        f"{'source':<36} {'kind':<18} {'claims':>6} {'sup':>4} {'dis':>4} {'hyp':>4} "
        f"{'men':>4} {'coverage':>14}  findings"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        findings = []
        if r.copy_of:
            findings.append(f"copy of {r.copy_of} (similarity {r.similarity:.2f})")
        if r.copies:
            findings.append(f"copied by {', '.join(r.copies)}")
        findings += [f"passage in language '{p['language']}'" for p in r.foreign_passages]
        s = r.stances
        cov = f"{r.covered}/{r.sentences} {r.coverage:.0%}"
        lines.append(
            f"{r.id:<36} {r.kind:<18} {r.claims:>6} {s['supports']:>4} "
            f"{s['disputes']:>4} {s['hypothesis']:>4} {s['mentions']:>4} {cov:>14}  "
            f"{'; '.join(findings) or '-'}"
        )
        if show_uncovered:
            lines += [f"    not covered: {u}" for u in r.uncovered]
    return "\n".join(lines) + "\n"
