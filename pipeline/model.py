"""Typed records of the curated data: what the load stage produces and the graph stage reads."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from pipeline.quotes import NormalisedText
from pipeline.report import Location

# each set of field names once, with its index: records written alike share both
_FIELDS: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, int]]] = {}


def _fields(keys: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    found = _FIELDS.get(keys)
    if found is None:
        found = _FIELDS[keys] = (keys, {k: i for i, k in enumerate(keys)})
    return found


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was written: its own position and those of its notable fields.

    A Location is made only when asked for: a large catalogue has millions of fields and few
    are ever reported. The fields' names are one tuple shared by records written alike, their
    (line, column) pairs one flat array; a dict of tuples per record was a third of a
    claim's memory (34 MB of claims' origins at 1,000 conditions)."""

    item: Location
    keys: tuple[str, ...] = field(default=(), compare=False, hash=False)
    marks: array[int] = field(default_factory=lambda: array("I"), compare=False, hash=False)

    @classmethod
    def of(cls, item: Location, fields: dict[str, tuple[int, int]]) -> Origin:
        """The origin of a record at `item` whose fields are at `fields` (key -> position)."""
        keys, _ = _fields(tuple(fields))
        return cls(item, keys, array("I", [n for pos in fields.values() for n in pos]))

    def at(self, key: str) -> Location:
        """The position of a field (`"object"`, `"evidence.0.quote"`), else of the record."""
        _, index = _fields(self.keys)  # also for an origin unpickled from the load cache
        while key:
            i = index.get(key)
            if i is not None:
                return Location(self.item.file, self.marks[2 * i], self.marks[2 * i + 1])
            key = key.rpartition(".")[0]
        return self.item


@dataclass(frozen=True, slots=True)
class Dataset:
    title: str
    base: str
    license: str
    version: str
    description: str | None = None
    publisher: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Region:
    start: str
    end: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    text_path: str  # as written, relative to the YAML file
    sha256: str
    title: str
    kind: str
    language: str
    origin: Origin
    text: str = ""  # the snapshot, loaded by the load stage
    text_file: str = ""  # the snapshot's path for messages
    publisher: str | None = None
    authors: tuple[Person, ...] = ()
    reviewers: tuple[Person, ...] = ()
    published: str | None = None
    updated: str | None = None
    reviewed: str | None = None
    audience: str | None = None
    url: str | None = None
    part_of: str | None = None
    copy_of: str | None = None
    region: Region | None = None
    boilerplate: tuple[Region, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    id: str
    source: str
    kind: str
    origin: Origin
    marker: str | None = None
    citation: str | None = None
    title: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None
    container: str | None = None
    doi: str | None = None
    url: str | None = None
    peer_reviewed: bool | None = None
    mention: str | None = None
    candidates: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Code:
    system: str
    code: str
    match: str
    status: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    type: str
    label: str
    origin: Origin
    alt_labels: tuple[str, ...] = ()
    description: str | None = None
    broader: tuple[str, ...] = ()
    schema_type: str | None = None
    codes: tuple[Code, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Dose:
    value: float
    unit: str
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    quote: str
    prefix: str | None = None
    suffix: str | None = None
    markers: tuple[str, ...] = ()
    cites: tuple[str, ...] = ()
    # set by pipeline.checks:
    exact: str | None = None  # the quote as it stands in the snapshot
    references: tuple[str, ...] = ()  # reference ids from `cites` and resolved `markers`
    unresolved: tuple[str, ...] = ()  # markers the source lists no reference for
    span: tuple[int, int] | None = None  # where the quote is, in the normalised snapshot


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    source: str
    subject: str
    predicate: str
    stance: str
    evidence: tuple[Evidence, ...]
    origin: Origin
    object: str | None = None
    value: str | None = None
    population: str | None = None
    dose: Dose | None = None
    note: str | None = None


@dataclass
class Corpus:
    """Everything read from a data folder, ordered by id for determinism."""

    dataset: Dataset | None = None
    dataset_origin: Origin | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    references: dict[str, Reference] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    # normalised text snapshots by source id, set by pipeline.checks
    snapshots: dict[str, NormalisedText] = field(default_factory=dict)
    # CSL-JSON of resolved DOIs (data/references/csl-cache.json), keyed by normalised DOI
    csl: dict[str, dict[str, object]] = field(default_factory=dict)
    # every id in use -> (kind, origin): ids are unique across the whole folder
    ids: dict[str, tuple[str, Origin]] = field(default_factory=dict)
