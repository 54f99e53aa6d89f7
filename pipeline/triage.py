"""Source triage: near-duplicate documents, non-English passages, and evidence coverage.

- Copies are found from the texts themselves: word-trigram shingles, compared through an
  inverted index of rare shingles (so cost grows with the corpus, not with its square), then
  scored by containment (shared shingles / shingles of the smaller document).
- Passages in another language than the source's are found with py3langid (a model shipped in
  the package, deterministic, no download); evidence quoted from them is a violation.
- Coverage is the share of a document's content sentences (boilerplate excluded) that at least
  one claim's evidence overlaps.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pipeline.model import Corpus, Source
from pipeline.quotes import NormalisedText, region_bounds
from pipeline.report import Problem, Report, Severity, Stage

SIMILARITY_THRESHOLD = 0.3  # trigram containment; unrelated articles on one topic score < 0.05
MIN_PASSAGE_WORDS = 8
MIN_LANGUAGE_CONFIDENCE = 0.95
MIN_SENTENCE_WORDS = 4
MAX_HEADING_WORDS = 8  # a line this short without final punctuation is a heading
_BULLETS = ("\u2022", "- ", "* ", "\u2013 ")
_FINAL = (".", "!", "?", "…", '"', "”", ")")
_RARE = 20  # shingles found in more documents than this do not suggest copying

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"\u201d\u2019)]?\s+(?=[\"\u201c\u2018(]?[A-Z0-9])")


@dataclass(frozen=True)
class Duplicate:
    copy: str
    original: str
    similarity: float
    declared: bool  # the curator said so (copyOf or kind republished-copy)


@dataclass(frozen=True)
class Passage:
    source: str
    language: str
    confidence: float
    span: tuple[int, int]  # normalised offsets
    excerpt: str


@dataclass(frozen=True)
class Coverage:
    source: str
    sentences: int
    covered: int
    uncovered: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.covered / self.sentences if self.sentences else 0.0


@dataclass
class Triage:
    duplicates: list[Duplicate] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    coverage: dict[str, Coverage] = field(default_factory=dict)

    def copy_of(self, source_id: str) -> Duplicate | None:
        return next((d for d in self.duplicates if d.copy == source_id), None)


def content_spans(source: Source, text: NormalisedText) -> list[tuple[int, int]]:
    """Normalised spans of the source's own content: its region minus its boilerplate."""
    bounds = region_bounds(text, source.region.start, source.region.end) if source.region else None
    lo, hi = bounds or (0, len(text.text))
    cuts = sorted(
        b for r in source.boilerplate if (b := region_bounds(text, r.start, r.end)) is not None
    )
    spans, pos = [], lo
    for b_lo, b_hi in cuts:
        if b_hi <= pos or b_lo >= hi:
            continue
        if b_lo > pos:
            spans.append((pos, b_lo))
        pos = max(pos, b_hi)
    if pos < hi:
        spans.append((pos, hi))
    return spans


def sentences(text: NormalisedText, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences (and list items: each line is one) inside content spans, fragments left out."""
    out = []
    for lo, hi in (p for span in spans for p in _paragraphs(text, *span)):
        line = text.text[lo:hi].rstrip()
        if _is_heading(line):
            continue
        start = lo
        for m in _SENTENCE_END.finditer(text.text, lo, hi):
            out.append((start, m.start()))
            start = m.end()
        out.append((start, hi))
    return [
        (a, b)
        for a, b in out
        if len(_WORD.findall(text.text[a:b])) >= MIN_SENTENCE_WORDS
        and not text.text[a:b].rstrip().endswith(("?", ":"))  # questions and list intros
    ]


def _is_heading(line: str) -> bool:
    """A short line without final punctuation that is not a list item or `label: text`."""
    return (
        not line.endswith(_FINAL)
        and len(_WORD.findall(line)) <= MAX_HEADING_WORDS
        and not line.startswith(_BULLETS)
        and ": " not in line
    )


def _shingles(text: str) -> set[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def find_duplicates(corpus: Corpus) -> list[Duplicate]:
    docs: dict[str, set[str]] = {}
    for sid, src in sorted(corpus.sources.items()):
        text = corpus.snapshots.get(sid)
        if text is not None:
            docs[sid] = _shingles(" ".join(text.text[a:b] for a, b in content_spans(src, text)))
    postings: dict[str, list[str]] = defaultdict(list)
    for sid, shingles in docs.items():
        for s in shingles:
            postings[s].append(sid)
    shared: Counter[tuple[str, str]] = Counter()
    for ids in postings.values():
        if 1 < len(ids) <= _RARE:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    shared[(a, b)] += 1
    found = []
    for (a, b), count in sorted(shared.items()):
        sa, sb = corpus.sources[a], corpus.sources[b]
        if sa.part_of == b or sb.part_of == a:
            continue
        similarity = count / max(1, min(len(docs[a]), len(docs[b])))
        if similarity < SIMILARITY_THRESHOLD:
            continue
        copy, original = (a, b) if _is_copy(sa, b) or not _is_copy(sb, a) else (b, a)
        declared = _is_copy(corpus.sources[copy], original)
        found.append(Duplicate(copy, original, round(similarity, 3), declared))
    return found


def _is_copy(source: Source, other: str) -> bool:
    return source.copy_of == other or (source.kind == "republished-copy" and not source.copy_of)


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


LanguageMemo = dict[str, tuple[str, float]]  # paragraph -> py3langid's (language, confidence)


def _classify(chunk: str, memo: LanguageMemo | None) -> tuple[str, float]:
    """py3langid's verdict, remembered across builds (loading its model is most of the cost)."""
    if memo is not None and chunk in memo:
        return memo[chunk]
    language, confidence = _identifier().classify(chunk)
    found = (str(language), float(confidence))
    if memo is not None:
        memo[chunk] = found
    return found


def find_foreign_passages(
    source: Source, text: NormalisedText, memo: LanguageMemo | None = None
) -> list[Passage]:
    """Paragraphs (lines of the snapshot) detected as another language than the source's."""
    main = source.language.split("-")[0].lower()
    found = []
    for lo, hi in content_spans(source, text):
        for para in _paragraphs(text, lo, hi):
            chunk = text.text[para[0] : para[1]]
            if len(_WORD.findall(chunk)) < MIN_PASSAGE_WORDS:
                continue
            language, confidence = _classify(chunk, memo)
            if language != main and confidence >= MIN_LANGUAGE_CONFIDENCE:
                found.append(
                    Passage(source.id, language, round(float(confidence), 3), para, chunk[:80])
                )
    return found


def _paragraphs(text: NormalisedText, lo: int, hi: int) -> list[tuple[int, int]]:
    """Split a normalised span where the original text had a line break."""
    out, start = [], lo
    norm, original, offsets = text.text, text.original, text.offsets
    i = norm.find(" ", lo, hi)
    while i != -1:  # only the spaces can be line breaks: visit those, not every character
        if "\n" in original[offsets[i] : offsets[i + 1]]:
            out.append((start, i))
            start = i + 1
        i = norm.find(" ", i + 1, hi)
    out.append((start, hi))
    return [(a, b) for a, b in out if b > a]


def _evidence_spans(corpus: Corpus) -> dict[str, list[tuple[int, int]]]:
    """Every source's quoted spans, in one pass over the claims (not one pass per source)."""
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for c in corpus.claims.values():
        spans[c.source].extend(ev.span for ev in c.evidence if ev.span)
    return spans


def _coverage(source: Source, text: NormalisedText, spans: list[tuple[int, int]]) -> Coverage:
    spans = sorted(spans)
    covered, uncovered = 0, []
    for a, b in sentences(text, content_spans(source, text)):
        if any(lo < b and hi > a for lo, hi in spans):
            covered += 1
        else:
            uncovered.append(text.text[a:b])
    total = covered + len(uncovered)
    return Coverage(source.id, total, covered, tuple(uncovered))


def triage(corpus: Corpus, report: Report, memo: LanguageMemo | None = None) -> Triage:
    result = Triage()
    result.duplicates = find_duplicates(corpus)
    for d in result.duplicates:
        copy = corpus.sources[d.copy]
        message = (
            f"source {d.copy!r} is a near-duplicate of {d.original!r} "
            f"(similarity {d.similarity:.2f}); its claims do not count as independent "
            "support"
        )
        if not d.declared:
            message += f"; confirm it with `copyOf: {d.original}`"
        report.add(
            Problem(
                Severity.WARNING if not d.declared else Severity.INFO,
                Stage.TRIAGE,
                "near-duplicate",
                message,
                copy.origin.item,
            )
        )
    detected = {(d.copy, d.original) for d in result.duplicates}
    for src in corpus.sources.values():
        if src.copy_of and (src.id, src.copy_of) not in detected:
            report.add(
                Problem(
                    Severity.WARNING,
                    Stage.TRIAGE,
                    "copy-not-confirmed",
                    f"source {src.id!r} is declared a copy of {src.copy_of!r}, but "
                    "their texts are not similar",
                    src.origin.at("copyOf"),
                )
            )
    quoted = _evidence_spans(corpus)
    for sid, src in sorted(corpus.sources.items()):
        text = corpus.snapshots.get(sid)
        if text is None:
            continue
        passages = find_foreign_passages(src, text, memo)
        result.passages.extend(passages)
        for p in passages:
            report.add(
                Problem(
                    Severity.INFO,
                    Stage.TRIAGE,
                    "foreign-passage",
                    f"a passage of source {sid!r} is in language {p.language!r} "
                    f"(confidence {p.confidence:.2f}), not {src.language!r}: "
                    f"\u201c{p.excerpt}\u2026\u201d; it cannot be quoted as evidence",
                    src.origin.item,
                )
            )
        result.coverage[sid] = _coverage(src, text, quoted.get(sid, []))
    _check_quotes_in_passages(corpus, result, report)
    return result


def _check_quotes_in_passages(corpus: Corpus, result: Triage, report: Report) -> None:
    by_source: dict[str, list[Passage]] = defaultdict(list)
    for p in result.passages:
        by_source[p.source].append(p)
    for claim in corpus.claims.values():
        for i, ev in enumerate(claim.evidence):
            if not ev.span:
                continue
            for p in by_source.get(claim.source, []):
                if ev.span[0] < p.span[1] and ev.span[1] > p.span[0]:
                    report.add(
                        Problem(
                            Severity.VIOLATION,
                            Stage.TRIAGE,
                            "quote-in-foreign-passage",
                            f"this quote is in a passage detected as language {p.language!r}; "
                            "claims must come from text in the source's own language",
                            claim.origin.at(f"evidence.{i}.quote"),
                        )
                    )
