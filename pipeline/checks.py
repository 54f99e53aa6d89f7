"""Whole-corpus checks after loading: values, references between records, codes, and quotes.

Each check reports at the YAML position of the field at fault. Values that become IRIs or
language tags are checked here (`pipeline.values`), before any graph is built. Quotes are
anchored in their source snapshot here; the anchored original text is written back onto the
evidence records.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from pipeline import yamlsafe
from pipeline.model import Claim, Corpus, Evidence, Origin, Source
from pipeline.quotes import NormalisedText, QuoteStatus, locate, normalise, region_bounds
from pipeline.report import Location, Problem, Report, Severity, Stage
from pipeline.values import iri_problem, key_path, language_tag_problem, show
from pipeline.vocab import CODE_SYSTEMS, PREDICATES


class _Fields:
    """The YAML key path and exact place of a record's field, for messages.

    Records keep only their own position, so on a problem the file is read again (only then)
    and the field is found below the node at that position: `references[2].url`, line 31.
    """

    def __init__(self, data_dir: Path):
        self.root = data_dir.resolve().parent  # where `Location.file` is relative to
        self.docs: dict[str, yamlsafe.LoadedYaml | None] = {}

    def _doc(self, file: str) -> yamlsafe.LoadedYaml | None:
        if file not in self.docs:
            try:
                self.docs[file] = yamlsafe.load((self.root / file).read_bytes())
            except (OSError, yamlsafe.YamlError):
                self.docs[file] = None
        return self.docs[file]

    def find(self, item: Location, field: tuple[str | int, ...]) -> tuple[str, Location]:
        doc = self._doc(item.file)
        if doc is not None:
            for path, (line, column) in doc.positions.items():
                full = (*path, *field)
                if (line, column) == (item.line, item.column) and full in doc.positions:
                    at = doc.positions[full]
                    return key_path(full), Location(item.file, at[0], at[1])
        return key_path(field), item


class _Checker:
    def __init__(self, corpus: Corpus, report: Report, data_dir: Path):
        self.c, self.report = corpus, report
        self.changed: set[str] = set()  # sources whose snapshot no longer has its sha256
        self._markers: dict[str, dict[str, str]] | None = None
        self.fields = _Fields(data_dir)

    def markers(self, source_id: str) -> dict[str, str]:
        """Marker -> reference id of one source (built once: per evidence it was quadratic)."""
        if self._markers is None:
            self._markers = {}
            for r in self.c.references.values():
                if r.marker:
                    self._markers.setdefault(r.source, {})[r.marker] = r.id  # last one wins
        return self._markers.get(source_id, {})

    def problem(
        self,
        rule: str,
        message: str,
        where: Location,
        severity: Severity = Severity.VIOLATION,
        stage: Stage = Stage.REFERENCE,
    ) -> None:
        self.report.add(Problem(severity, stage, rule, message, where))

    def need(self, kind: str, id_: str, origin: Origin, key: str, what: str) -> bool:
        """Report an unknown or wrongly-kinded id; True when it is fine."""
        found = self.c.ids.get(id_)
        if found is None:
            self.problem(
                "unknown-id",
                f"{what} {id_!r} does not exist; check the spelling or add a {kind} with this id",
                origin.at(key),
            )
            return False
        if found[0] != kind:
            self.problem(
                "wrong-kind", f"{what} {id_!r} is a {found[0]}, not a {kind}", origin.at(key)
            )
            return False
        return True


def check_corpus(corpus: Corpus, data_dir: Path, report: Report) -> None:
    """Run every whole-corpus check, anchoring quotes in place."""
    ch = _Checker(corpus, report, data_dir)
    if corpus.dataset is None and not report.unreadable:
        ch.problem(
            "missing-dataset",
            "no `dataset` section was found; add data/dataset.yaml "
            "with title, base, license and version",
            Location(data_dir.as_posix()),
        )
    _check_values(ch)
    texts = {sid: _snapshot(ch, s, data_dir) for sid, s in corpus.sources.items()}
    for s in corpus.sources.values():
        for key, target in (("partOf", s.part_of), ("copyOf", s.copy_of)):
            if target:
                ch.need("source", target, s.origin, key, f"`{key}`")
    _check_references(ch)
    _check_entities(ch)
    for cid, claim in list(corpus.claims.items()):
        corpus.claims[cid] = _check_claim(ch, claim, texts)


def _check_values(ch: _Checker) -> None:
    """Web addresses and language tags, each named by its key path: `source.url: ...`."""
    found: list[tuple[Location, str, str, str | None]] = []  # item, field, value, problem
    d = ch.c.dataset
    if d is not None and ch.c.dataset_origin is not None:
        where = ch.c.dataset_origin.item
        found.append((where, "base", d.base, iri_problem(d.base, base=True)))
        found.append((where, "license", d.license, iri_problem(d.license)))
    for s in ch.c.sources.values():
        found.append((s.origin.item, "language", s.language, language_tag_problem(s.language)))
        if s.url is not None:
            found.append((s.origin.item, "url", s.url, iri_problem(s.url)))
    for r in ch.c.references.values():
        if r.url is not None:
            found.append((r.origin.item, "url", r.url, iri_problem(r.url)))
    for item, field, value, problem in found:
        if problem is not None:
            path, where = ch.fields.find(item, (field,))
            rule = "bad-language-tag" if field == "language" else "bad-iri"
            ch.problem(rule, f"{path}: `{show(value)}` {problem}", where, stage=Stage.SCHEMA)


def _snapshot(ch: _Checker, s: Source, data_dir: Path) -> NormalisedText | None:
    path = data_dir.parent / s.text_file
    if not path.resolve().is_relative_to(data_dir.resolve()):
        ch.problem(
            "snapshot-outside-data",
            f"the text snapshot {s.text_path!r} of source {s.id!r} is outside the data "
            "folder; keep snapshots below it (a build never reads other files)",
            s.origin.at("text"),
            stage=Stage.SCHEMA,
        )
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        ch.problem(
            "snapshot-missing",
            f"the text snapshot {s.text_file} of source {s.id!r} cannot be read",
            s.origin.at("text"),
            stage=Stage.EVIDENCE,
        )
        return None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != s.sha256:
        ch.changed.add(s.id)
        ch.problem(
            "snapshot-changed",
            f"the text of source {s.id!r} has changed since it was "
            f"curated (sha256 is now {digest}); quotes that no longer match are listed as "
            "orphaned; review them, then update `sha256`",
            s.origin.at("sha256"),
            stage=Stage.EVIDENCE,
        )
    text = NormalisedText.of(raw.decode("utf-8", errors="replace"))
    ch.c.sources[s.id] = replace(s, text=text.original)
    ch.c.snapshots[s.id] = text
    for key, region in [("region", s.region)] + [
        (f"boilerplate.{i}", r) for i, r in enumerate(s.boilerplate)
    ]:
        if region and region_bounds(text, region.start, region.end) is None:
            ch.problem(
                "region-not-found",
                f"the {key.split('.')[0]} of source {s.id!r} must "
                "start and end with text that occurs exactly once in the snapshot",
                s.origin.at(key),
                stage=Stage.EVIDENCE,
            )
    return text


def _check_references(ch: _Checker) -> None:
    markers: dict[tuple[str, str], str] = {}
    for ref in ch.c.references.values():
        if ref.marker:
            key = (ref.source, ref.marker)
            if key in markers:
                ch.problem(
                    "duplicate-marker",
                    f"marker [{ref.marker}] is already used by "
                    f"reference {markers[key]!r} of the same source",
                    ref.origin.at("marker"),
                )
            markers.setdefault(key, ref.id)
        for cand in ref.candidates:
            if ch.need("reference", cand, ref.origin, "candidates", "candidate"):
                other = ch.c.references[cand]
                if other.source != ref.source:
                    ch.problem(
                        "foreign-reference",
                        f"candidate {cand!r} is listed by source "
                        f"{other.source!r}, not by {ref.source!r}",
                        ref.origin.at("candidates"),
                    )


def _check_entities(ch: _Checker) -> None:
    for ent in ch.c.entities.values():
        for j, b in enumerate(ent.broader):
            if ch.need("entity", b, ent.origin, f"broader.{j}", "broader entity"):
                other = ch.c.entities[b]
                if other.type != ent.type:
                    ch.problem(
                        "broader-type",
                        f"{ent.id!r} is a {ent.type} but its broader "
                        f"entity {b!r} is a {other.type}",
                        ent.origin.at(f"broader.{j}"),
                    )
                if b == ent.id:
                    ch.problem(
                        "broader-self",
                        f"{ent.id!r} cannot be broader than itself",
                        ent.origin.at(f"broader.{j}"),
                    )
        seen: set[tuple[str, str]] = set()
        for j, code in enumerate(ent.codes):
            system = CODE_SYSTEMS[code.system]
            where = ent.origin.at(f"codes.{j}.code")
            if not system.pattern.fullmatch(code.code):
                ch.problem(
                    "bad-code-pattern",
                    f"{code.code!r} is not a valid {system.name} code "
                    f"(expected the form of {system.example})",
                    where,
                    stage=Stage.SCHEMA,
                )
            if (code.system, code.code) in seen:
                ch.problem("duplicate-code", f"{code.system} {code.code} is listed twice", where)
            seen.add((code.system, code.code))


def _check_claim(ch: _Checker, claim: Claim, texts: dict[str, NormalisedText | None]) -> Claim:
    o = claim.origin
    pred = PREDICATES[claim.predicate]
    ok_source = ch.need("source", claim.source, o, "source", "source")
    for key in ("subject", "object"):
        id_ = getattr(claim, key)
        if id_ is None or not ch.need("entity", id_, o, key, f"`{key}`"):
            continue
        etype = ch.c.entities[id_].type
        allowed = pred.subjects if key == "subject" else pred.objects
        if allowed and etype not in allowed:
            ch.problem(
                "wrong-type",
                f"`{claim.predicate}` needs a {' or '.join(allowed)} as "
                f"{key}, but {id_!r} is a {etype}",
                o.at(key),
            )
    if pred.literal and claim.object is not None:
        ch.problem(
            "literal-predicate",
            f"`{claim.predicate}` takes a `value` text, not an `object`",
            o.at("object"),
        )
    if not pred.literal and claim.value is not None:
        ch.problem(
            "relation-predicate",
            f"`{claim.predicate}` links two entities: give an `object` id instead of a `value`",
            o.at("value"),
        )
    if (
        claim.dose
        and claim.object
        and ch.c.entities.get(claim.object)
        and ch.c.entities[claim.object].type != "drug"
    ):
        ch.problem(
            "dose-not-drug", "a `dose` is only allowed when the object is a drug", o.at("dose")
        )
    if not ok_source:
        return claim
    source = ch.c.sources[claim.source]
    text = texts.get(claim.source)
    evidence = tuple(
        _check_evidence(ch, claim, i, ev, source, text) for i, ev in enumerate(claim.evidence)
    )
    return replace(claim, evidence=evidence)


def _check_evidence(
    ch: _Checker, claim: Claim, i: int, ev: Evidence, source: Source, text: NormalisedText | None
) -> Evidence:
    o = claim.origin
    refs: list[str] = []
    unresolved: list[str] = []
    by_marker = ch.markers(source.id)
    for m in ev.markers:
        if m in by_marker:
            refs.append(by_marker[m])
        else:
            unresolved.append(m)  # recorded in the graph; the shapes report it as info
    for r in ev.cites:
        if ch.need("reference", r, o, f"evidence.{i}.cites", "cited reference"):
            if ch.c.references[r].source != source.id:
                ch.problem(
                    "foreign-reference",
                    f"reference {r!r} is listed by source "
                    f"{ch.c.references[r].source!r}, not by {source.id!r}",
                    o.at(f"evidence.{i}.cites"),
                )
            refs.append(r)
    exact = None
    span = None
    if text is not None:
        region = (
            region_bounds(text, source.region.start, source.region.end) if source.region else None
        )
        match = locate(text, ev.quote, ev.prefix, ev.suffix, region)
        where = o.at(f"evidence.{i}.quote")
        orphan = " (orphaned: the source text changed)" if source.id in ch.changed else ""
        if match.status is QuoteStatus.MISSING:
            ch.problem(
                "quote-not-found",
                f"the quote is not in the text of source "
                f"{source.id!r}{orphan}; copy it verbatim from {source.text_file}",
                where,
                stage=Stage.EVIDENCE,
            )
        elif match.status is QuoteStatus.CONTEXT_MISMATCH:
            ch.problem(
                "quote-context-mismatch",
                f"the quote is in the source, but not with this prefix/suffix{orphan}",
                where,
                stage=Stage.EVIDENCE,
            )
        elif match.status is QuoteStatus.AMBIGUOUS:
            ch.problem(
                "quote-ambiguous",
                f"the quote occurs {match.count} times in source "
                f"{source.id!r}; add a `prefix` or `suffix` to say which",
                where,
                stage=Stage.EVIDENCE,
            )
        exact = match.exact
        if match.status is QuoteStatus.FOUND:
            span = (match.start, match.start + len(normalise(ev.quote)))
    return replace(
        ev,
        exact=exact,
        span=span,
        references=tuple(dict.fromkeys(refs)),
        unresolved=tuple(unresolved),
    )
