"""The pipeline as functions: load -> graph -> validate -> export, each timed.

`run_pipeline` does everything but write; `build` also writes `dist/` atomically. Neither
prints: progress goes to an optional callback, problems into the returned report.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import __version__
from pipeline.cache import LANGUAGE_MEMO, LoadCache, Recorder, for_output
from pipeline.checks import check_corpus
from pipeline.distdir import Staging, locked
from pipeline.exporters import EXPORTERS, ExportContext
from pipeline.exporters.base import Output, content
from pipeline.graph import KnowledgeGraph, build_graph
from pipeline.load import load_corpus
from pipeline.manifest import build_manifest, digest
from pipeline.model import Corpus
from pipeline.report import Report

if TYPE_CHECKING:
    from pipeline.markup.policy import InclusionPolicy
from pipeline.triage import Triage, triage

Progress = Callable[[str, str, float], None]  # stage, summary, seconds
Sink = Callable[[str, bytes | Iterable[bytes]], tuple[int, str]]  # path, content -> size, hash


def _quiet(stage: str, summary: str, seconds: float) -> None:
    del stage, summary, seconds


@dataclass
class BuildResult:
    report: Report
    corpus: Corpus | None = None
    graph: KnowledgeGraph | None = None
    triage: Triage | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # empty when written to a sink
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)  # every output's size, hash
    timings: dict[str, float] = field(default_factory=dict)


class _Timer:
    def __init__(self, result: BuildResult, progress: Progress):
        self.result, self.progress = result, progress

    def run(self, stage: str, fn: Callable[[], object], summary: Callable[[], str]) -> None:
        start = time.perf_counter()
        fn()
        # The cyclic collector is off while a stage runs (see `run_pipeline`); its garbage is
        # collected once here, and what the stage built, which lives until the end of the build,
        # is frozen out of later passes, so no object is rescanned stage after stage.
        gc.collect()
        gc.freeze()
        seconds = time.perf_counter() - start
        self.result.timings[stage] = seconds
        self.progress(stage, summary(), seconds)


def run_pipeline(
    data_dir: Path,
    *,
    validate: bool = True,
    export: bool = True,
    exporters: Iterable[str] | None = None,
    progress: Progress = _quiet,
    markup_policy: InclusionPolicy | None = None,
    cache: LoadCache | None = None,
    sink: Sink | None = None,
) -> BuildResult:
    """Load, check, build, validate and (unless asked not to) export, stopping at bad input.

    Outputs are kept in `result.files`, or, with a `sink`, handed to it as each exporter
    finishes and dropped (a large catalogue's outputs need not all fit in memory)."""
    # Automatic collection would rescan the millions of long-lived records and triples a
    # large catalogue makes, over and over: quadratic time at N = 10,000 conditions.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(data_dir, validate, export, exporters, progress, markup_policy, cache, sink)
    finally:
        gc.unfreeze()  # all of it is the caller's to keep or drop again
        if collecting:
            gc.enable()


def _run(
    data_dir: Path,
    validate: bool,
    export: bool,
    exporters: Iterable[str] | None,
    progress: Progress,
    markup_policy: InclusionPolicy | None,
    cache: LoadCache | None,
    sink: Sink | None,
) -> BuildResult:
    result = BuildResult(Report())
    timer = _Timer(result, progress)
    report = result.report

    def load() -> None:
        result.corpus = load_corpus(data_dir, report, cache)
        if not report.unreadable:
            check_corpus(result.corpus, data_dir, report)

    timer.run(
        "load",
        load,
        lambda: (
            f"{len(result.corpus.files) if result.corpus else 0} files, "
            f"{len(result.corpus.entities) if result.corpus else 0} entities, "
            f"{len(result.corpus.claims) if result.corpus else 0} claims"
        ),
    )
    if report.unreadable or result.corpus is None:
        return result
    corpus = result.corpus

    def run_triage() -> None:
        memo = Recorder(cache.memo(LANGUAGE_MEMO)) if cache is not None else None
        result.triage = triage(corpus, report, memo)
        if cache is not None and memo is not None and memo.changed():
            cache.save_memo(LANGUAGE_MEMO, dict(memo))

    timer.run(
        "triage",
        run_triage,
        lambda: f"{len(result.triage.duplicates) if result.triage else 0} near-duplicate(s)",
    )
    if not report.conforms:
        return result

    def graph() -> None:
        result.graph = build_graph(corpus, result.triage)

    timer.run("graph", graph, lambda: f"{len(result.graph or [])} triples")
    kg = result.graph
    assert kg is not None
    if validate:
        from pipeline.validate import cached_compiled, validate_graph
        from pipeline.validcache import PartitionMemo

        def shacl() -> None:
            compiled = cached_compiled(cache) if cache is not None else None
            memo = PartitionMemo(cache) if cache is not None else None
            report.extend(validate_graph(kg, compiled=compiled, memo=memo).problems)

        timer.run("validate", shacl, report.summary)
    if not export or not report.conforms:
        return result
    ctx = ExportContext(corpus, kg, report, __version__, result.triage, markup_policy)
    if cache is not None:
        from pipeline.markup.schemaorg_vocab import cached_vocabulary

        cached_vocabulary(cache)  # the exporters' `vocabulary()` then finds it loaded

    def emit(files: Mapping[str, Output]) -> None:
        for rel in sorted(files):
            if rel in result.digests:
                raise ValueError(f"two exporters write {rel}")
            data = files[rel]
            if sink is None:
                result.files[rel] = content(data)
                result.digests[rel] = digest(result.files[rel])
            else:
                result.digests[rel] = sink(rel, data if isinstance(data, bytes) else data.produce())

    for name in exporters if exporters is not None else EXPORTERS:
        exporter = EXPORTERS[name]
        timer.run(
            f"export:{name}",
            lambda e=exporter: emit(e.export(ctx)),  # type: ignore[misc]
            lambda e=exporter: e.description,  # type: ignore[misc]
        )
    manifest = build_manifest(result.digests, corpus, __version__, len(kg), data_dir=data_dir)
    emit({"manifest.json": manifest})
    return result


def build(
    data_dir: Path,
    out: Path,
    progress: Progress = _quiet,
    markup_policy: InclusionPolicy | None = None,
) -> BuildResult:
    """Build and, only when the data conforms, replace `out` with the new outputs.

    Exporters write straight into a staging folder beside `out`, which is swapped in whole
    under the output lock (see pipeline.distdir); anything else leaves `out` untouched."""
    cache = for_output(out)  # per-file load results beside `out`: see pipeline.cache
    with Staging(out) as stage:
        result = run_pipeline(
            data_dir, progress=progress, markup_policy=markup_policy, cache=cache, sink=stage.write
        )
        if cache is not None and not result.report.unreadable:
            cache.prune()
        report = result.report
        if report.conforms and not report.unreadable and result.digests:
            start = time.perf_counter()
            with locked(out):
                stage.commit()
            result.timings["write"] = time.perf_counter() - start
            progress("write", f"{len(result.digests)} files in {out}", result.timings["write"])
    return result
