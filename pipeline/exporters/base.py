"""The small interface every exporter implements, and what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.graph import KnowledgeGraph
from pipeline.model import Corpus
from pipeline.report import Report
from pipeline.triage import Triage


@dataclass(frozen=True)
class ExportContext:
    """Everything an exporter may read. Exporters never write files themselves."""

    corpus: Corpus
    graph: KnowledgeGraph
    report: Report
    version: str
    triage: Triage | None = None  # copies and foreign passages, for the public-facing exports


class Exporter(Protocol):
    """One output format. `export` returns relative paths in `dist/` and their bytes."""

    name: str
    description: str

    def export(self, ctx: ExportContext) -> dict[str, bytes]: ...
