"""Load stage: YAML files under a data folder -> typed records, with every problem reported.

Reading (strict YAML) and shape checking (the JSON Schema in `schemas/`) happen here; checks
that need the whole corpus (ids, references, quotes) are in `pipeline.checks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import yamlsafe
from pipeline.cache import LoadCache
from pipeline.cslcache import CACHE_PATH, RefsError, load_cache
from pipeline.model import (
    Claim,
    Code,
    Corpus,
    Dataset,
    Dose,
    Entity,
    Evidence,
    Origin,
    Person,
    Reference,
    Region,
    Source,
)
from pipeline.report import Location, Problem, Report, Severity, Stage, relpath
from pipeline.schemacheck import schema_check

SECTIONS = ("dataset", "source", "references", "entities", "claims")


def data_files(data_dir: Path) -> list[Path]:
    """Every YAML file below `data_dir`, hidden folders skipped, in a stable order."""
    found = [
        p
        for pattern in ("*.yaml", "*.yml")
        for p in data_dir.rglob(pattern)
        if not any(part.startswith(".") for part in p.relative_to(data_dir).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(data_dir).as_posix())


def load_corpus(data_dir: Path, report: Report, cache: LoadCache | None = None) -> Corpus:
    """Read and shape-check every data file; records from invalid items are left out."""
    corpus = Corpus()
    if not data_dir.is_dir():
        report.add(
            Problem(
                Severity.VIOLATION,
                Stage.READ,
                "data-folder-missing",
                f"the data folder {data_dir} does not exist or is not a folder",
            )
        )
        return corpus
    files = data_files(data_dir)
    if not files:
        report.add(
            Problem(
                Severity.VIOLATION,
                Stage.READ,
                "data-folder-empty",
                f"no .yaml files were found in {data_dir}",
                Location(data_dir.as_posix()),
            )
        )
    _load_csl(corpus, data_dir, report)
    for path in files:
        name = relpath(path, data_dir)
        corpus.files.append(name)
        try:
            content = path.read_bytes()
            key = cache.key(name, content) if cache is not None else ""
            hit = cache.get(key) if cache is not None else None
            if hit is None:
                doc = yamlsafe.load(content)
        except yamlsafe.YamlError as exc:
            report.add(
                Problem(
                    Severity.VIOLATION,
                    Stage.READ,
                    exc.rule,
                    exc.message,
                    Location(name, exc.line, exc.column),
                )
            )
            continue
        except OSError as exc:
            report.add(
                Problem(Severity.VIOLATION, Stage.READ, "file-unreadable", str(exc), Location(name))
            )
            continue
        if hit is None:
            local = Report()
            bad_items = schema_check(doc, name, local)
            if cache is not None:
                cache.put(key, (doc, bad_items, local.problems))
        else:  # the same bytes under the same name, read by the same code: same result
            doc, bad_items, local = hit[0], hit[1], Report(hit[2])
        report.extend(local.problems)
        _FileReader(doc, name, path, data_dir, bad_items, corpus, report).read()
    return corpus


def _load_csl(corpus: Corpus, data_dir: Path, report: Report) -> None:
    """The DOI metadata cache written by `crampkg refs resolve`; the build never resolves."""
    path = data_dir / CACHE_PATH
    try:
        corpus.csl = load_cache(path)
    except RefsError as exc:
        report.add(
            Problem(
                Severity.VIOLATION,
                Stage.READ,
                "csl-cache-unreadable",
                str(exc),
                Location(relpath(path, data_dir)),
            )
        )


# ---------------------------------------------------------------- records


class _FileReader:
    """Turns the valid items of one file into records."""

    def __init__(
        self,
        doc: yamlsafe.LoadedYaml,
        name: str,
        path: Path,
        data_dir: Path,
        bad: set[tuple[Any, ...]],
        corpus: Corpus,
        report: Report,
    ):
        self.doc, self.name, self.path, self.bad = doc, name, path, bad
        self.data_dir = data_dir
        self.corpus, self.report = corpus, report

    def origin(self, path: tuple[Any, ...], fields: dict[str, tuple[Any, ...]]) -> Origin:
        position = self.doc.position
        line, col = position(path)
        return Origin.of(
            Location(self.name, line, col),
            {k: position((*path, *sub)) for k, sub in fields.items()},
        )

    def read(self) -> None:
        data = self.doc.data
        if not isinstance(data, dict):
            return
        if "dataset" in data and ("dataset",) not in self.bad:
            self._dataset(data["dataset"])
        source_id = None
        if "source" in data and ("source",) not in self.bad:
            source_id = self._source(data["source"])
        for i, item in enumerate(data.get("references") or []):
            if ("references", i) not in self.bad and source_id and isinstance(item, dict):
                self._reference(item, i, source_id)
        for i, item in enumerate(data.get("entities") or []):
            if ("entities", i) not in self.bad and isinstance(item, dict):
                self._entity(item, i)
        for i, item in enumerate(data.get("claims") or []):
            if ("claims", i) not in self.bad and isinstance(item, dict):
                self._claim(item, i)

    def _dataset(self, d: dict[str, Any]) -> None:
        if self.corpus.dataset is not None:
            prev = self.corpus.dataset_origin
            self.report.add(
                Problem(
                    Severity.VIOLATION,
                    Stage.REFERENCE,
                    "duplicate-dataset",
                    f"a second `dataset` section (the first is in {prev.item if prev else '?'});"
                    " keep one",
                    self.origin(("dataset",), {}).item,
                )
            )
            return
        self.corpus.dataset = Dataset(
            title=d["title"],
            base=d["base"],
            license=d["license"],
            version=d["version"],
            description=d.get("description"),
            publisher=d.get("publisher"),
        )
        self.corpus.dataset_origin = self.origin(("dataset",), {"base": ("base",)})

    def _source(self, d: dict[str, Any]) -> str:
        def region(r: dict[str, Any] | None) -> Region | None:
            return Region(r["start"], r.get("end")) if r else None

        def people(key: str) -> tuple[Person, ...]:
            return tuple(Person(p["name"], p.get("role")) for p in d.get(key, []))

        fields: dict[str, tuple[Any, ...]] = {k: (k,) for k in d}
        fields.update(
            {f"boilerplate.{i}": ("boilerplate", i) for i in range(len(d.get("boilerplate", [])))}
        )
        src = Source(
            id=d["id"],
            text_path=d["text"],
            sha256=d["sha256"],
            title=d["title"],
            kind=d["kind"],
            language=d["language"],
            origin=self.origin(("source",), fields),
            text_file=relpath(self.path.parent / d["text"], self.data_dir),
            publisher=d.get("publisher"),
            authors=people("authors"),
            reviewers=people("reviewers"),
            published=d.get("published"),
            updated=d.get("updated"),
            reviewed=d.get("reviewed"),
            audience=d.get("audience"),
            url=d.get("url"),
            part_of=d.get("partOf"),
            copy_of=d.get("copyOf"),
            region=region(d.get("region")),
            boilerplate=tuple(Region(r["start"], r.get("end")) for r in d.get("boilerplate", [])),
            note=d.get("note"),
        )
        _register(self.corpus, self.report, "source", src.id, src.origin)
        self.corpus.sources.setdefault(src.id, src)
        return src.id

    def _reference(self, d: dict[str, Any], i: int, source_id: str) -> None:
        path = ("references", i)
        ref = Reference(
            id=d["id"],
            source=source_id,
            kind=d["kind"],
            origin=self.origin(path, {k: (k,) for k in d}),
            marker=d.get("marker"),
            citation=d.get("citation"),
            title=d.get("title"),
            authors=tuple(d.get("authors", [])),
            year=d.get("year"),
            container=d.get("container"),
            doi=d.get("doi"),
            url=d.get("url"),
            peer_reviewed=d.get("peerReviewed"),
            mention=d.get("mention"),
            candidates=tuple(d.get("candidates", [])),
            note=d.get("note"),
        )
        _register(self.corpus, self.report, "reference", ref.id, ref.origin)
        self.corpus.references.setdefault(ref.id, ref)

    def _entity(self, d: dict[str, Any], i: int) -> None:
        path = ("entities", i)
        fields: dict[str, tuple[Any, ...]] = {k: (k,) for k in d}
        fields.update(
            {f"codes.{j}.code": ("codes", j, "code") for j in range(len(d.get("codes", [])))}
        )
        fields.update({f"broader.{j}": ("broader", j) for j in range(len(d.get("broader", [])))})
        ent = Entity(
            id=d["id"],
            type=d["type"],
            label=d["label"],
            origin=self.origin(path, fields),
            alt_labels=tuple(d.get("altLabels", [])),
            description=d.get("description"),
            broader=tuple(d.get("broader", [])),
            schema_type=d.get("schemaType"),
            codes=tuple(
                Code(c["system"], c["code"], c["match"], c["status"], c.get("label"))
                for c in d.get("codes", [])
            ),
            note=d.get("note"),
        )
        _register(self.corpus, self.report, "entity", ent.id, ent.origin)
        self.corpus.entities.setdefault(ent.id, ent)

    def _claim(self, d: dict[str, Any], i: int) -> None:
        path = ("claims", i)
        fields: dict[str, tuple[Any, ...]] = {k: (k,) for k in d}
        for j, ev in enumerate(d["evidence"]):
            fields[f"evidence.{j}"] = ("evidence", j)
            for k in ev:
                fields[f"evidence.{j}.{k}"] = ("evidence", j, k)
        dose = d.get("dose")
        claim = Claim(
            id=d["id"],
            source=d["source"],
            subject=d["subject"],
            predicate=d["predicate"],
            stance=d["stance"],
            origin=self.origin(path, fields),
            evidence=tuple(
                Evidence(
                    e["quote"],
                    e.get("prefix"),
                    e.get("suffix"),
                    tuple(e.get("markers", [])),
                    tuple(e.get("cites", [])),
                )
                for e in d["evidence"]
            ),
            object=d.get("object"),
            value=d.get("value"),
            population=d.get("population"),
            dose=Dose(float(dose["value"]), dose["unit"], dose.get("qualifier")) if dose else None,
            note=d.get("note"),
        )
        _register(self.corpus, self.report, "claim", claim.id, claim.origin)
        self.corpus.claims.setdefault(claim.id, claim)


def _register(corpus: Corpus, report: Report, kind: str, id_: str, origin: Origin) -> None:
    """Ids are unique across the whole folder: report a second use where it happens."""
    seen = corpus.ids
    if id_ in seen:
        other_kind, other = seen[id_]
        report.add(
            Problem(
                Severity.VIOLATION,
                Stage.REFERENCE,
                "duplicate-id",
                f"the id {id_!r} is already used by the {other_kind} at {other.item}; "
                "every id must be unique",
                origin.at("id"),
            )
        )
        return
    seen[id_] = (kind, origin)
