"""Release notes: what changed between two builds, read from their `graph.nt`.

Nodes are compared by their IRI relative to the dataset's base, so a build moved to another
base still lines up (the notes say the base changed). Three kinds of records are compared:

* an entity: its triples (but the plain relation triples, which claims account for) and those
  of its codes;
* a claim: its triples and those of the nodes it owns (evidence, target, selector, dose);
* an evidence: its triples and those of its target and selector.

Claims are grouped by their subject (new build first, else old). Nothing here prints.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyoxigraph import Literal, NamedNode, RdfFormat, parse

from pipeline.vocab import CK, PREDICATES, PREFIXES

Record = dict[str, dict[str, str]]  # property -> {canonical value: display value}

_ENTITY = re.compile(r"entity/[^/]+")
_CODE = re.compile(r"code/.+")
_CLAIM = re.compile(r"claim/[^/]+")
_EVIDENCE = re.compile(r"(claim/[^/]+/evidence/[0-9]+)(/.*)?")
_RELATIONS = {p.iri for p in PREDICATES.values()}
_PREDICATE_NAMES = {p.iri: p.name for p in PREDICATES.values()}
_PREFIXES = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))


class DiffInputError(Exception):
    """A folder is not a build: no readable graph.nt."""


@dataclass
class Build:
    path: Path
    base: str
    manifest: dict[str, Any]
    nodes: dict[str, Record] = field(default_factory=dict)  # relative IRI -> record
    triples: int = 0

    def label(self, rel: str) -> str | None:
        values = self.nodes.get(rel, {}).get("skos:prefLabel", {})
        return next(iter(sorted(values.values())), None)

    def one(self, rel: str, prop: str) -> str | None:
        values = self.nodes.get(rel, {}).get(prop, {})
        return next(iter(sorted(values.values())), None)


def _base(dist: Path, manifest: dict[str, Any], subjects: set[str]) -> str:
    base = (manifest.get("dataset") or {}).get("base")
    if isinstance(base, str) and base:
        return base
    schemes = sorted(s for s in subjects if s.endswith("/scheme"))  # {base}scheme
    if not schemes:
        raise DiffInputError(f"{dist}: cannot tell the dataset's base (no manifest.json)")
    return schemes[0].removesuffix("scheme")


def _compact(iri: str, base: str) -> str:
    if iri.startswith(base):
        return iri[len(base) :]
    for prefix, ns in _PREFIXES:
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def load_build(dist: Path) -> Build:
    """Read a build folder: its graph.nt, and its manifest.json when there is one."""
    nt = dist / "graph.nt"
    if not nt.is_file():
        raise DiffInputError(f"{dist} is not a build folder: it has no graph.nt")
    manifest: dict[str, Any] = {}
    if (dist / "manifest.json").is_file():
        try:
            manifest = json.loads((dist / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise DiffInputError(f"{dist}/manifest.json is not readable JSON: {exc}") from exc
    try:
        triples = list(parse(path=nt, format=RdfFormat.N_TRIPLES))
    except (OSError, SyntaxError, ValueError) as exc:
        raise DiffInputError(f"{nt} is not valid N-Triples: {exc}") from exc
    base = _base(dist, manifest, {t.subject.value for t in triples})
    build = Build(dist, base, manifest, triples=len(triples))
    for t in triples:
        s, p, o = t.subject, t.predicate.value, t.object
        if not isinstance(s, NamedNode):
            continue
        if isinstance(o, Literal):
            key, shown = str(o), str(o.value)
        else:
            key = shown = _compact(str(o.value), base)
        rec = build.nodes.setdefault(_compact(s.value, base), {})
        rec.setdefault(_compact(p, base), {})[key] = shown
    return build


# ------------------------------------------------------------------ records


def _owned(build: Build, pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Owner node -> the nodes below it ("claim/c1" -> ["claim/c1/dose", ...]), one pass."""
    owned: dict[str, list[str]] = defaultdict(list)
    for rel in build.nodes:
        head = rel.split("/", 2)
        if len(head) == 3 and pattern.fullmatch(f"{head[0]}/{head[1]}"):
            owned[f"{head[0]}/{head[1]}"].append(rel)
    return owned


def _merge(out: Record, node: Record, prefix: str = "") -> None:
    for prop, values in node.items():
        out.setdefault(f"{prefix}{prop}", {}).update(values)


def entity_records(build: Build) -> dict[str, Record]:
    relations = {_compact(iri, build.base) for iri in _RELATIONS}
    records: dict[str, Record] = {}
    for rel, node in build.nodes.items():
        if not _ENTITY.fullmatch(rel):
            continue
        rec = {p: v for p, v in node.items() if p not in relations}
        for code in sorted(node.get("schema:code", {})):
            if _CODE.fullmatch(code):
                _merge(rec, build.nodes.get(code, {}), f"{code} ")
        records[rel] = rec
    return records


def claim_records(build: Build) -> dict[str, Record]:
    owned = _owned(build, _CLAIM)
    records: dict[str, Record] = {}
    for rel, node in build.nodes.items():
        if _CLAIM.fullmatch(rel):
            rec: Record = {}
            _merge(rec, node)
            for sub in sorted(owned.get(rel, ())):
                _merge(rec, build.nodes[sub], f"{sub[len(rel) + 1 :]} ")
            records[rel] = rec
    return records


def evidence_records(build: Build) -> dict[str, Record]:
    records: dict[str, Record] = {}
    for rel, node in build.nodes.items():
        m = _EVIDENCE.fullmatch(rel)
        if m:
            prefix = f"{m.group(2)[1:]} " if m.group(2) else ""
            _merge(records.setdefault(m.group(1), {}), node, prefix)
    return records


def changes(old: Record, new: Record) -> list[dict[str, Any]]:
    """Per property: the values removed and added (display form), sorted."""
    out = []
    for prop in sorted(set(old) | set(new)):
        a, b = old.get(prop, {}), new.get(prop, {})
        if set(a) != set(b):
            removed = sorted(a[k] for k in set(a) - set(b))
            added = sorted(b[k] for k in set(b) - set(a))
            out.append({"property": prop, "removed": removed, "added": added})
    return out


@dataclass
class Section:
    added: list[str]
    removed: list[str]
    changed: dict[str, list[dict[str, Any]]]

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
        }


def compare(old: dict[str, Record], new: dict[str, Record]) -> Section:
    changed = {k: changes(old[k], new[k]) for k in sorted(set(old) & set(new)) if old[k] != new[k]}
    return Section(sorted(set(new) - set(old)), sorted(set(old) - set(new)), changed)


# ------------------------------------------------------------------ release notes


def _local(rel: str) -> str:
    return rel.split("/", 1)[1]


def _entity(build: Build, rel: str) -> dict[str, Any]:
    types = sorted(t for t in build.nodes.get(rel, {}).get("rdf:type", {}) if t != "skos:Concept")
    return {"id": _local(rel), "label": build.label(rel), "types": types}


def _claim(build: Build, rel: str) -> dict[str, Any]:
    node = build.nodes.get(rel, {})
    predicate = next(iter(node.get("rdf:predicate", {})), "")
    subject, obj = build.one(rel, "rdf:subject"), build.one(rel, "rdf:object")
    source = build.one(rel, "prov:wasDerivedFrom")
    return {
        "id": _local(rel),
        "subject": _local(subject) if subject else None,
        "subjectLabel": build.label(subject) if subject else None,
        "predicate": _PREDICATE_NAMES.get(CK + predicate.removeprefix("ck:"), predicate),
        "object": (build.label(obj) or obj) if obj else None,
        "stance": (build.one(rel, "ck:stance") or "").removeprefix("ck:"),
        "source": build.one(source, "dcterms:title") if source else None,
    }


def release_notes(old: Build, new: Build) -> dict[str, Any]:
    """The differences between two builds, as a JSON-able dict (see docs/api.md)."""
    entities = compare(entity_records(old), entity_records(new))
    claims = compare(claim_records(old), claim_records(new))
    evidence = compare(evidence_records(old), evidence_records(new))
    stance_changes = []
    for rel in claims.changed:
        a, b = old.one(rel, "ck:stance"), new.one(rel, "ck:stance")
        if a != b:
            summary = _claim(new, rel)
            was = (a or "").removeprefix("ck:")
            stance_changes.append({**summary, "from": was, "to": summary["stance"]})

    groups: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for kind, rels, build in (
        ("added", claims.added, new),
        ("removed", claims.removed, old),
        ("changed", list(claims.changed), new),
    ):
        for rel in rels:
            summary = _claim(build, rel)
            if kind == "changed":
                summary["changes"] = claims.changed[rel]
            groups[f"entity/{summary['subject']}"][kind].append(summary)
    for change in stance_changes:
        groups[f"entity/{change['subject']}"]["stanceChanges"].append(change)
    by_subject = []
    for rel, group in groups.items():
        info = _entity(new if rel in new.nodes else old, rel)
        claims_of = {k: group.get(k, []) for k in ("added", "removed", "changed")}
        counts = {k: len(v) for k, v in claims_of.items()}
        counts["stanceChanges"] = len(group.get("stanceChanges", []))
        by_subject.append({**info, "counts": counts, "claims": claims_of})
    by_subject.sort(key=lambda g: (str(g["label"] or "").casefold(), g["id"]))

    def side(b: Build) -> dict[str, Any]:
        dataset = b.manifest.get("dataset") or {}
        return {
            "path": str(b.path),
            "base": b.base,
            "version": dataset.get("version"),
            "commit": dataset.get("gitCommit"),
            "triples": b.triples,
        }

    return {
        "old": side(old),
        "new": side(new),
        "counts": {
            "entities": entities.counts(),
            "claims": claims.counts(),
            "evidence": evidence.counts(),
            "stanceChanges": len(stance_changes),
        },
        "entities": {
            "added": [_entity(new, r) for r in entities.added],
            "removed": [_entity(old, r) for r in entities.removed],
            "changed": [{**_entity(new, r), "changes": c} for r, c in entities.changed.items()],
        },
        "claims": {
            "added": [_claim(new, r) for r in claims.added],
            "removed": [_claim(old, r) for r in claims.removed],
            "changed": [{**_claim(new, r), "changes": c} for r, c in claims.changed.items()],
        },
        "evidence": {
            "added": [_local(r) for r in evidence.added],
            "removed": [_local(r) for r in evidence.removed],
            "changed": [_local(r) for r in evidence.changed],
        },
        "stanceChanges": stance_changes,
        "bySubject": by_subject,
    }


def to_json(notes: dict[str, Any]) -> str:
    return json.dumps(notes, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _md(text: object) -> str:
    """Inline Markdown: table pipes and emphasis characters escaped, one line."""
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", " ".join(str(text).split()))


def _types(types: list[str]) -> str:
    return ", ".join(t.removeprefix("ck:") for t in types)


def _claim_line(c: dict[str, Any]) -> str:
    line = f"`{c['id']}` {c['stance']}: {c['predicate']} → {_md(c['object'])}"
    return line + (f" (source: {_md(c['source'])})" if c["source"] else "")


def _change_text(changes: list[dict[str, Any]]) -> str:
    parts = []
    for ch in changes:
        removed = ", ".join(f"“{_md(v)}”" for v in ch["removed"]) or "∅"
        added = ", ".join(f"“{_md(v)}”" for v in ch["added"]) or "∅"
        parts.append(f"{_md(ch['property'])}: {removed} → {added}")
    return "; ".join(parts)


def to_markdown(notes: dict[str, Any]) -> str:
    old, new, counts = notes["old"], notes["new"], notes["counts"]
    out = ["# Release notes", ""]
    out += ["| | old | new |", "|---|---|---|"]
    for key, title in (("version", "dataset version"), ("commit", "data commit")):
        out.append(f"| {title} | {_md(old[key] or '-')} | {_md(new[key] or '-')} |")
    out.append(f"| triples | {old['triples']} | {new['triples']} |")
    if old["base"] != new["base"]:
        out += [
            "",
            f"**The base changed** from <{old['base']}> to <{new['base']}>: every IRI "
            "changed; records are compared by their id.",
        ]
    out += ["", "## Summary", "", "| | added | removed | changed |", "|---|---:|---:|---:|"]
    for kind in ("entities", "claims", "evidence"):
        c = counts[kind]
        out.append(f"| {kind} | {c['added']} | {c['removed']} | {c['changed']} |")
    out += ["", f"Stance changes: {counts['stanceChanges']}."]
    if notes["stanceChanges"]:
        out += ["", "## Stance changes", ""]
        for c in notes["stanceChanges"]:
            out.append(
                f"- `{c['id']}` ({_md(c['subjectLabel'] or c['subject'])} {c['predicate']} → "
                f"{_md(c['object'])}): "
                f"{c['from']} → **{c['to']}**"
            )
    ent = notes["entities"]
    if any(ent.values()):
        out += ["", "## Entities"]
        for kind in ("added", "removed", "changed"):
            if ent[kind]:
                out += ["", f"### {kind.capitalize()} ({len(ent[kind])})", ""]
            for e in ent[kind]:
                line = f"- {_md(e['label'])} (`{e['id']}`, {_types(e['types'])})"
                out.append(line + (f": {_change_text(e['changes'])}" if kind == "changed" else ""))
    if notes["bySubject"]:
        out += ["", "## Claims per condition (and other subjects)"]
    for g in notes["bySubject"]:
        n = g["counts"]
        out += ["", f"### {_md(g['label'] or g['id'])} (`{g['id']}`, {_types(g['types'])})", ""]
        out += [
            f"{n['added']} added, {n['removed']} removed, {n['changed']} changed; "
            f"{n['stanceChanges']} stance change(s).",
            "",
        ]
        for kind in ("added", "removed", "changed"):
            for c in g["claims"][kind]:
                line = f"- {kind} {_claim_line(c)}"
                out.append(line + (f" — {_change_text(c['changes'])}" if kind == "changed" else ""))
    ev = notes["evidence"]
    if any(ev.values()):
        out += ["", "## Evidence", ""]
        for kind in ("added", "removed", "changed"):
            if ev[kind]:
                out.append(f"- {kind}: " + ", ".join(f"`{e}`" for e in ev[kind]))
    if not any(counts[k][x] for k in ("entities", "claims", "evidence") for x in counts[k]):
        out += ["", "No changes."]
    return "\n".join(out) + "\n"
