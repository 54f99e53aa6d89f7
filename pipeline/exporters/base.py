"""The small interface every exporter implements, and what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipeline.graph import KnowledgeGraph
from pipeline.model import Corpus
from pipeline.report import Report
from pipeline.triage import Triage

if TYPE_CHECKING:
    from pipeline.markup.policy import InclusionPolicy


@dataclass(frozen=True)
class ExportContext:
    """Everything an exporter may read. Exporters never write files themselves."""

    corpus: Corpus
    graph: KnowledgeGraph
    report: Report
    version: str
    triage: Triage | None = None  # copies and foreign passages, for the public-facing exports
    markup_policy: InclusionPolicy | None = None  # None: the documented defaults


class Exporter(Protocol):
    """One output format. `export` returns relative paths in `dist/` and their bytes."""

    name: str
    description: str

    def export(self, ctx: ExportContext) -> dict[str, bytes]: ...
