"""Hypothesis strategies: random crampkg data folders, valid by construction (tests/test_fuzz.py).

A generated folder follows docs/authoring.md: ids are unique, every claim's predicate fits the
types of its subject and object, codes match their scheme's pattern, and every quote is a
sentence of its source's snapshot (written in the source's language, so triage never flags it).
Free texts draw on hostile Unicode (markup, comment openers, separators, direction and
combining marks, emoji, controls; labels up to the schema's 10,000 characters), written by
`yaml_str` as double-quoted YAML that escapes only what YAML cannot carry raw.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from pipeline.vocab import CODE_SYSTEMS, ENTITY_TYPES, PREDICATES, STANCES

SENTENCES = {
    "en": (
        "Stretching the affected muscle gently often relieves a cramp within minutes.",
        "Some researchers believe that muscle fatigue plays a central role in cramping.",
        "Dehydration has long been blamed, but the evidence for it is weak.",
        "Certain medicines, such as diuretics, are linked to more frequent cramps.",
        "A cramp usually lasts from a few seconds up to several minutes.",
        "See a doctor if cramps are severe, frequent or do not improve.",
        "Low levels of potassium or magnesium are sometimes thought to trigger cramps.",
        "Baclofen (starting at 10 mg/day) has been tried for cramps in liver disease.",
        'Doctors say "cramps & spasms" differ, but <b>both</b> can hurt a lot.',
        "Some readers typed </script> and <!-- into the comment box of this page.",
        "A cramp can last for seconds\u2028or it can last for several long minutes.",
        "The word \u200fcramp\u200f is wrapped in right-to-left marks in this sentence.",
        "Cafe\u0301 owners and nai\u0308ve runners alike report cramps after long hot days.",
        "Runners joke that cramps are the price of a fast marathon \U0001f3c3 finish.",
        "Regular stretching of the calves before bed may prevent nocturnal cramps.",
        "Most cramps are harmless and go away on their own without treatment.",
    ),
    "fr": (
        "Les crampes musculaires sont des contractions soudaines et douloureuses d'un muscle.",
        "Beaucoup de personnes ont des crampes dans les mollets pendant la nuit.",
        "Il est conseillé de boire suffisamment d'eau pendant un effort prolongé.",
        "Étirer doucement le muscle touché soulage souvent la crampe en quelques minutes.",
    ),
    "de": (
        "Muskelkrämpfe sind plötzliche und schmerzhafte Zusammenziehungen eines Muskels.",
        "Viele Menschen bekommen nachts im Schlaf Krämpfe in den Waden.",
        "Sanftes Dehnen des betroffenen Muskels lindert einen Krampf oft schnell.",
    ),
}
TITLES = {"en": "Leg cramps explained", "fr": "Les crampes expliquées", "de": "Wadenkrämpfe"}
LANGUAGE_TAGS = {"en": ("en", "en-GB", "en-US", "EN"), "fr": ("fr", "fr-CA"), "de": ("de",)}
AD_START, AD_END = "Advertisement:", "buy our shoes today!"
for _pool in SENTENCES.values():  # a quote must occur once: no sentence inside another
    assert not [a for a in _pool for b in _pool if a != b and a in b]

# fmt: off
HOSTILE = (  # markup, comment openers, separators, direction marks, combining marks, controls
    "</script>", "<script>alert(1)</script>", "</SCRIPT >", "<!--", "-->", "]]>", "&", "&amp;",
    "&lt;", '"', "'", "\\u003c", "@context", "_:b0", "{{x}}", "%s", "<img src=x onerror=alert(1)>",
    "\u2028", "\u2029", "\u200f", "\u202e", "\u202c", "\u05d0\u05d1", "e\u0301", "\U0001f600",
    "\x00", "\x85", "\ufeff", "\r\n", "\t", "\r",
)
# fmt: on
SOURCE_KINDS = ["editorial-article", "clinician-summary", "blog-post", "reader-comments"]
WORDS = ("Muscle cramp", "pain", "Heat", "calf", "GTO", "x", "ß", "İ", "Σ")
BASES = ("https://example.org/kg/", "http://example.com/a/b#", "https://w3id.org/crampkg/")
LICENSES = ("https://creativecommons.org/licenses/by/4.0/", "https://unlicense.org/")
IDS = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
MARKERS = st.from_regex(r"[0-9A-Za-z]{1,3}", fullmatch=True)
DOIS = st.from_regex(r"10\.[0-9]{4,6}/[!-~]{1,12}", fullmatch=True)


def _printable(o: int) -> bool:
    """Characters YAML may carry raw (YAML 1.1's printable set minus its line breaks)."""
    return (
        0x20 <= o <= 0x7E
        or (0xA0 <= o <= 0xD7FF and o not in (0x2028, 0x2029))
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or o >= 0x10000
    )


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly `text`."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif _printable(o):
            out.append(ch)
        else:  # the shortest of YAML's escapes
            out.append(
                f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"
            )
    return "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)  # YAML floats need a dot: 1e-05 -> 1.0e-05
        return text if "." in text else text.replace("e", ".0e", 1)
    return yaml_str(str(value))


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML of dicts, lists and scalars."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:\n{to_yaml(v, indent + 2)}")
            else:
                lines.append(f"{pad}{k}: {'[]' if v == [] else _scalar(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            body = to_yaml(item, indent + 2) if isinstance(item, dict | list) else _scalar(item)
            lines.append(f"{pad}- {body.lstrip()}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _non_blank(text: str) -> str:
    return text if re.search(r"\S", text) else text + "x"


_PIECE = st.sampled_from(HOSTILE) | st.sampled_from(WORDS) | st.text(min_size=1, max_size=12)


def texts(long: bool = False) -> st.SearchStrategy[str]:
    """Hostile but schema-valid text; `long` adds strings up to the 10,000-character limit."""
    short = st.lists(_PIECE, min_size=1, max_size=6).map(lambda p: _non_blank("".join(p)))
    big = st.tuples(_PIECE, st.integers(200, 10_000)).map(lambda t: (t[0] * t[1])[: t[1]])
    return st.one_of(short, short, short, big.map(_non_blank)) if long else short


@dataclass
class Folder:
    """A generated data folder: YAML documents and snapshot texts by relative path."""

    documents: dict[str, dict[str, Any]]
    snapshots: dict[str, str]
    entities: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)

    def files(self) -> dict[str, bytes]:
        out = {p: (to_yaml(d) + "\n").encode() for p, d in self.documents.items()}
        out.update({p: t.encode() for p, t in self.snapshots.items()})
        return out

    def write(self, root: Path) -> Path:
        for rel, data in self.files().items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root


def _opt(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    return draw(strategy) if draw(st.booleans()) else None


def _put(d: dict[str, Any], **values: Any) -> dict[str, Any]:
    d.update({k: v for k, v in values.items() if v is not None})
    return d


def _snapshot(draw: st.DrawFn) -> tuple[str, str, list[str], str | None, bool]:
    """(language, text, sentences, the sentence printed twice, has an advert)."""
    lang = draw(st.sampled_from(sorted(SENTENCES)))
    pool = SENTENCES[lang]
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=2, max_size=8, unique=True))
    chosen = [pool[i] for i in picks]
    twice = draw(st.sampled_from([None, *chosen]))  # quoted with a prefix or a suffix
    lines, row = [TITLES[lang], ""], []
    for s in chosen:
        row.append(f"{s} {s}" if s == twice else s)
        if len(row) == 2 or draw(st.booleans()):
            lines.append(" ".join(row))
            row = []
    lines += [" ".join(row)] if row else []
    ad = draw(st.booleans())
    lines += ["", f"{AD_START} {AD_END}"] if ad else []
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return lang, newline.join(lines) + newline, chosen, twice, ad


def _references(draw: st.DrawFn, ref_ids: list[str]) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    markers = draw(st.lists(MARKERS, max_size=len(ref_ids), unique=True))
    for i, rid in enumerate(ref_ids):
        kinds = ["journal-article", "review", "guideline", "web-page", "book", "named-mention"]
        ref: dict[str, Any] = {"id": rid, "kind": draw(st.sampled_from(kinds))}
        if ref["kind"] == "named-mention":
            ref["mention"] = draw(texts())
            earlier = [r["id"] for r in refs if r["kind"] != "named-mention"]
            if earlier:
                ref["candidates"] = draw(st.lists(st.sampled_from(earlier), max_size=2))
        else:  # the shapes want a title on every cited reference
            ref.update(citation=draw(texts()), title=draw(texts()))
            _put(
                ref,
                authors=_opt(draw, st.lists(texts(), max_size=3)),
                year=_opt(draw, st.integers(1800, 2100)),
                container=_opt(draw, texts()),
                doi=_opt(draw, DOIS),
                peerReviewed=_opt(draw, st.booleans()),
            )
        _put(ref, marker=markers[i] if i < len(markers) else None)
        refs.append(ref)
    return refs


@st.composite
def _source(
    draw: st.DrawFn, index: int, sid: str, ref_ids: list[str], avoid: frozenset[str]
) -> tuple[dict[str, Any], str, dict[str, str]]:
    lang, text, chosen, twice, ad = _snapshot(draw)
    src: dict[str, Any] = {
        "id": sid,
        "text": f"{index}.txt",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "title": draw(texts()),
        "kind": draw(st.sampled_from(SOURCE_KINDS)),
        "language": draw(st.sampled_from(LANGUAGE_TAGS[lang])),
    }
    tag = iter(f" a{index}x{i}" if "agent-slug" in avoid else "" for i in range(99))
    person = st.builds(
        lambda name, role: _put({"name": name + next(tag)}, role=role),
        texts(),
        st.none() | texts(),
    )
    _put(
        src,
        publisher=_opt(draw, texts().map(lambda t: t + next(tag))),
        authors=_opt(draw, st.lists(person, max_size=3)),
        reviewers=_opt(draw, st.lists(person, max_size=2)),
        published=_opt(draw, st.dates().map(str)),
        updated=_opt(draw, st.dates().map(str)),
        reviewed=_opt(draw, st.dates().map(str)),
        audience=_opt(draw, st.sampled_from(["patient", "clinician", "general-public", "athlete"])),
        url=_opt(draw, st.from_regex(r"https://example\.org/[a-z0-9/._~-]{0,20}", fullmatch=True)),
        note=_opt(draw, texts()),
    )
    if chosen[0] != twice and draw(st.booleans()):  # the region holds every sentence
        last = chosen[-1] if chosen[-1] != twice and len(chosen) > 1 else None
        src["region"] = {"start": chosen[0], "end": draw(st.sampled_from([None, last]))}
    if ad and draw(st.booleans()):
        src["boilerplate"] = [{"start": AD_START, "end": AD_END}]
    refs = _references(draw, ref_ids)
    doc = {"source": src, "references": refs} if refs else {"source": src}
    return doc, text, {s: ("twice" if s == twice else "once") for s in chosen}


def _code(draw: st.DrawFn, used: set[tuple[str, str]]) -> dict[str, Any] | None:
    system = draw(st.sampled_from(sorted(CODE_SYSTEMS)))
    code = draw(st.from_regex(CODE_SYSTEMS[system].pattern, fullmatch=True))
    if (system, code) in used:
        return None
    used.add((system, code))
    out = {
        "system": system,
        "code": code,
        "match": draw(st.sampled_from(["exact", "close", "broad", "narrow", "related"])),
        "status": draw(st.sampled_from(["verified", "label-from-other-vocabulary"])),
    }
    return _put(out, label=_opt(draw, texts()))


def _entities(draw: st.DrawFn, ids: list[str]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    used_codes: set[tuple[str, str]] = set()
    for i, eid in enumerate(ids):
        kind = "condition" if i == 0 else draw(st.sampled_from(sorted(ENTITY_TYPES)))
        ent: dict[str, Any] = {"id": eid, "type": kind, "label": draw(texts(long=True))}
        same = [e["id"] for e in entities if e["type"] == kind]
        codes = [c for _ in range(draw(st.integers(0, 2))) if (c := _code(draw, used_codes))]
        _put(
            ent,
            altLabels=_opt(draw, st.lists(texts(), max_size=3)),
            description=_opt(draw, texts()),
            broader=[draw(st.sampled_from(same))] if same and draw(st.booleans()) else None,
            schemaType="Muscle" if kind == "anatomy" and draw(st.booleans()) else None,
            codes=codes or None,
            note=_opt(draw, texts()),
        )
        entities.append(ent)
    return entities


def _dose(draw: st.DrawFn, avoid: frozenset[str]) -> dict[str, Any]:
    low = 1e-4 if "decimal-exponent" in avoid else 1e-9  # repr() of smaller ones has an e
    value = draw(st.integers(1, 10**9) | st.floats(low, 1e9, allow_nan=False, allow_infinity=False))
    return _put({"value": value, "unit": draw(texts())}, qualifier=_opt(draw, texts()))


def _claim(
    draw: st.DrawFn,
    cid: str,
    entities: list[dict[str, Any]],
    sources: list[tuple[str, list[str], dict[str, str]]],
    avoid: frozenset[str],
    first: bool,  # about the first entity, a condition, so that most folders have a page
) -> dict[str, Any] | None:
    kinds = {e["type"] for e in entities}
    fit = [p for p in PREDICATES.values() if p.literal or kinds & set(p.objects)]
    pred = draw(st.sampled_from([p for p in fit if not first or "condition" in p.subjects]))
    subjects = [e for e in entities[: 1 if first else None] if e["type"] in pred.subjects]
    objects = [e for e in entities if e["type"] in pred.objects]
    if not subjects or (not pred.literal and not objects):
        return None
    sid, refs, sentences = draw(st.sampled_from(sources))
    evidence = []
    for q in dict.fromkeys(
        draw(st.lists(st.sampled_from(sorted(sentences)), min_size=1, max_size=2))
    ):
        ev: dict[str, Any] = {"quote": q}
        if sentences[q] == "twice":
            ev[draw(st.sampled_from(["prefix", "suffix"]))] = q
        _put(
            ev,
            markers=_opt(draw, st.lists(MARKERS, max_size=2)),
            cites=_opt(draw, st.lists(st.sampled_from(refs), max_size=2)) if refs else None,
        )
        evidence.append(ev)
    claim: dict[str, Any] = {
        "id": cid,
        "source": sid,
        "subject": draw(st.sampled_from(subjects))["id"],
        "predicate": pred.name,
    }
    target = None if pred.literal else draw(st.sampled_from(objects))
    if target is None:
        claim["value"] = draw(texts())
    else:
        claim["object"] = target["id"]
    claim["stance"] = draw(st.sampled_from(sorted(STANCES)))
    claim["evidence"] = evidence
    _put(claim, population=_opt(draw, texts()), note=_opt(draw, texts()))
    if target is not None and target["type"] == "drug" and draw(st.booleans()):
        claim["dose"] = _dose(draw, avoid)
    return claim


@st.composite
def folders(draw: st.DrawFn, avoid: frozenset[str] = frozenset()) -> Folder:
    """A valid data folder; `avoid` steers clear of known bugs (see tests/test_fuzz.py)."""
    n_src, n_ent, n_claim = (
        draw(st.integers(1, 3)),
        draw(st.integers(1, 8)),
        draw(st.integers(1, 10)),
    )
    n_ref = [draw(st.integers(0, 3)) for _ in range(n_src)]
    ids = iter(draw(st.lists(IDS, min_size=n_src + n_ent + sum(n_ref) + n_claim, unique=True)))
    bases = [b for b in BASES if not (b.endswith("#") and "hash-base" in avoid)]
    title = draw(texts())
    if "title-newline" in avoid:
        title = _non_blank(re.sub(r"[\r\n]", " ", title))
    dataset: dict[str, Any] = {
        "title": title,
        "base": draw(st.sampled_from(bases)),
        "license": draw(st.sampled_from(LICENSES)),
        "version": draw(st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)),
    }
    _put(dataset, description=_opt(draw, texts()), publisher=_opt(draw, texts()))
    docs: dict[str, dict[str, Any]] = {"dataset.yaml": {"dataset": dataset}}
    snapshots: dict[str, str] = {}
    sources: list[tuple[str, list[str], dict[str, str]]] = []  # id, reference ids, sentences
    for i in range(n_src):
        sid = next(ids)
        doc, text, sentences = draw(_source(i, sid, [next(ids) for _ in range(n_ref[i])], avoid))
        if sources and draw(st.booleans()):
            link = draw(st.sampled_from(["partOf", "copyOf"]))
            doc["source"][link] = draw(st.sampled_from([s[0] for s in sources]))
        docs[f"sources/{i}.yaml"], snapshots[f"sources/{i}.txt"] = doc, text
        sources.append((sid, [r["id"] for r in doc.get("references", [])], sentences))
    entities = _entities(draw, [next(ids) for _ in range(n_ent)])
    docs["entities/entities.yaml"] = {"entities": entities}
    claims = [
        c
        for i in range(n_claim)
        if (c := _claim(draw, next(ids), entities, sources, avoid, i == 0))
    ]
    for i, (sid, _, _) in enumerate(sources):
        if mine := [c for c in claims if c["source"] == sid]:
            docs[f"claims/{i}.yaml"] = {"claims": mine}
    return Folder(docs, snapshots, entities, claims)
