"""Writing fetched pages into data/, re-fetching with an orphan report, and accepting changes.

A new source gets three files, written all-or-nothing: data/sources/<ID>.txt (the snapshot),
<ID>.yaml (the source record) and <ID>.fetch.json (HTTP details the schema has no field for;
JSON so the loader, which reads *.yaml only, ignores it).

Re-fetching a known source never touches its snapshot: a changed text is staged as
<snapshot>.new and <sidecar>.new, and the evidence quotes that would no longer match are
reported with their YAML position. `accept` then swaps the candidate in and edits only the
`sha256` line of every source record that uses the snapshot.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from pipeline.checks import check_corpus
from pipeline.fetch import http
from pipeline.fetch.charset import decode
from pipeline.fetch.extract import extract_html, extract_plain
from pipeline.fetch.files import write_all
from pipeline.fetch.sourceyaml import Candidate, fetch_record, source_yaml
from pipeline.load import load_corpus
from pipeline.model import Corpus, Source
from pipeline.quotes import NormalisedText, QuoteStatus, locate, region_bounds
from pipeline.report import Location, Report

ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class SnapshotError(Exception):
    """The fetch cannot be stored (or accepted); nothing was written."""


@dataclass(frozen=True)
class Target:
    """Where a fetch of `source_id` goes; `sources` is empty for a new source."""

    data_dir: Path
    source_id: str
    corpus: Corpus
    sources: tuple[Source, ...]  # the source first, then others sharing its snapshot
    snapshot: Path

    @property
    def url(self) -> str | None:
        return self.sources[0].url if self.sources else None

    @property
    def sidecar(self) -> Path:
        return self.snapshot.with_suffix(".fetch.json")

    def yaml_of(self, s: Source) -> Path:
        return self.data_dir.parent / s.origin.item.file


@dataclass(frozen=True)
class Orphan:
    """An evidence quote (or a region) that does not match the candidate text."""

    where: Location
    source: str
    claim: str | None  # None for a region or boilerplate range of the source itself
    quote: str
    status: str  # missing | context-mismatch | ambiguous | region-not-found
    was_found: bool  # it matched the current snapshot


@dataclass(frozen=True)
class Created:
    files: tuple[Path, ...]
    candidate: Candidate


@dataclass(frozen=True)
class Unchanged:
    snapshot: Path
    removed: tuple[Path, ...]  # a stale candidate from an earlier fetch


@dataclass(frozen=True)
class Staged:
    files: tuple[Path, ...]
    old_sha256: str
    candidate: Candidate
    orphans: tuple[Orphan, ...]


@dataclass(frozen=True)
class Accepted:
    snapshot: Path
    yaml_files: tuple[Path, ...]
    sha256: str
    orphans: tuple[Orphan, ...]


def _load(data_dir: Path) -> Corpus:
    if not data_dir.is_dir():
        raise SnapshotError(f"the data folder {data_dir} does not exist")
    report = Report()  # the curator's data may be mid-edit; validate reports its problems
    corpus = load_corpus(data_dir, report)
    check_corpus(corpus, data_dir, report)
    return corpus


def target(data_dir: Path, source_id: str) -> Target:
    """Check the id and find out whether this is a new source or a re-fetch, before any GET."""
    if not ID.match(source_id):
        raise SnapshotError(
            f"{source_id!r} is not a valid id: use lower-case letters, digits and single hyphens"
        )
    corpus = _load(data_dir)
    used = corpus.ids.get(source_id)
    if used and used[0] != "source":
        raise SnapshotError(
            f"the id {source_id!r} is already used by the {used[0]} at {used[1].item}"
        )
    if used:
        source = corpus.sources[source_id]
        sharing = [
            s
            for s in corpus.sources.values()
            if s.text_file == source.text_file and s is not source
        ]
        path = data_dir.parent / source.text_file
        return Target(data_dir, source_id, corpus, (source, *sharing), path)
    folder = data_dir / "sources"
    t = Target(data_dir, source_id, corpus, (), folder / f"{source_id}.txt")
    for path in _new_files(t):
        if path.exists():
            raise SnapshotError(
                f"{path} already exists but no source has the id {source_id!r}; "
                "move it away or choose another id"
            )
    return t


def _new_files(t: Target) -> tuple[Path, Path, Path]:
    return t.snapshot, t.snapshot.with_suffix(".yaml"), t.sidecar


def candidate(fetched: http.Fetched, source_id: str, retrieved: datetime) -> Candidate:
    """Decode and extract a fetched page; a page without text is an error."""
    decoded = decode(fetched.body, fetched.charset, fetched.media_type)
    if fetched.media_type == "text/plain":
        page = extract_plain(decoded.text)
    else:
        page = extract_html(decoded.text)
    if not page.main.strip():
        raise SnapshotError(f"no text could be extracted from {fetched.url}")
    return Candidate(source_id, fetched, decoded, page, retrieved)


def fetch(
    t: Target,
    url: str,
    policy: http.Policy,
    now: Callable[[], datetime],
    session: requests.Session | None = None,
) -> Created | Unchanged | Staged:
    """GET `url`, extract it and store it for `t` (see the module docstring)."""
    fetched = http.get(url, policy, session)
    return store(t, candidate(fetched, t.source_id, now()))


def store(t: Target, c: Candidate) -> Created | Unchanged | Staged:
    if not t.sources:
        files = dict(zip(_new_files(t), (c.data, source_yaml(c), fetch_record(c)), strict=True))
        t.snapshot.parent.mkdir(parents=True, exist_ok=True)
        write_all(files)
        return Created(tuple(files), c)
    pending = (_new(t.snapshot), _new(t.sidecar))
    try:
        current = t.snapshot.read_bytes()
    except OSError:
        current = None  # a lost snapshot: the candidate replaces it after --accept
    if current == c.data:
        stale = tuple(p for p in pending if p.exists())
        write_all({}, remove=stale)
        return Unchanged(t.snapshot, stale)
    write_all(dict(zip(pending, (c.data, fetch_record(c)), strict=True)))
    old = hashlib.sha256(current).hexdigest() if current is not None else ""
    return Staged(pending, old, c, orphans(t, c.page.text))


def _new(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def orphans(t: Target, new_text: str) -> tuple[Orphan, ...]:
    """Evidence of every source using the snapshot that would not match `new_text`."""
    text = NormalisedText.of(new_text)
    found: list[Orphan] = []
    for s in t.sources:
        ranges = [("region", s.region)] + [
            (f"boilerplate.{i}", r) for i, r in enumerate(s.boilerplate)
        ]
        old_text = t.corpus.snapshots.get(s.id)
        for key, r in ranges:
            if r is None or region_bounds(text, r.start, r.end) is not None:
                continue
            was = old_text is not None and region_bounds(old_text, r.start, r.end) is not None
            quote = r.start if r.end is None else f"{r.start} ... {r.end}"
            found.append(Orphan(s.origin.at(key), s.id, None, quote, "region-not-found", was))
        region = region_bounds(text, s.region.start, s.region.end) if s.region else None
        for claim in t.corpus.claims.values():
            if claim.source != s.id:
                continue
            for i, ev in enumerate(claim.evidence):
                match = locate(text, ev.quote, ev.prefix, ev.suffix, region)
                if match.status is not QuoteStatus.FOUND:
                    where = claim.origin.at(f"evidence.{i}.quote")
                    was = ev.exact is not None
                    found.append(Orphan(where, s.id, claim.id, ev.quote, match.status.value, was))
    return tuple(sorted(found, key=lambda o: (o.where, o.quote)))


def accept(data_dir: Path, source_id: str) -> Accepted:
    """Swap the staged candidate in and update `sha256` in every record using the snapshot."""
    t = target(data_dir, source_id)
    if not t.sources:
        raise SnapshotError(f"there is no source {source_id!r} in {data_dir}")
    staged, sidecar = _new(t.snapshot), _new(t.sidecar)
    try:
        data = staged.read_bytes()
    except OSError:
        raise SnapshotError(
            f"there is no candidate {staged} to accept; run `crampkg fetch URL --id {source_id}`"
        ) from None
    sha = hashlib.sha256(data).hexdigest()
    files = {t.snapshot: data}
    if sidecar.exists():
        files[t.sidecar] = sidecar.read_bytes()
    for s in t.sources:
        path = t.yaml_of(s)
        edited = _set_sha256(path, s, sha)
        if edited is not None:
            files[path] = edited
    lost = orphans(t, data.decode("utf-8", errors="replace"))
    write_all(files, remove=(staged, sidecar))
    yamls = tuple(p for p in files if p.suffix == ".yaml")
    return Accepted(t.snapshot, yamls, sha, lost)


def _set_sha256(path: Path, s: Source, sha: str) -> bytes | None:
    """The YAML with only the `sha256` line changed (None when it already says `sha`)."""
    if s.sha256 == sha:
        return None
    loc = s.origin.at("sha256")
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True)
    index = loc.line - 1
    line = lines[index] if 0 <= index < len(lines) and loc != s.origin.item else b""
    if not re.match(rb"\s*sha256:", line) or line.count(s.sha256.encode()) != 1:
        raise SnapshotError(
            f"cannot find the line `sha256: {s.sha256}` of source {s.id!r} in {path}; "
            "nothing was changed"
        )
    lines[index] = line.replace(s.sha256.encode(), sha.encode())
    return b"".join(lines)
