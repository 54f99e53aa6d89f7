"""The small interface every exporter implements, and what it is given."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from pipeline.graph import KnowledgeGraph
from pipeline.model import Corpus
from pipeline.rdfio import AnyTriple
from pipeline.report import Report
from pipeline.triage import Triage

if TYPE_CHECKING:
    from pipeline.markup.policy import InclusionPolicy

T = TypeVar("T", bound=AnyTriple)


@dataclass(frozen=True)
class ExportContext:
    """Everything an exporter may read. Exporters never write files themselves."""

    corpus: Corpus
    graph: KnowledgeGraph
    report: Report
    version: str
    triage: Triage | None = None  # copies and foreign passages, for the public-facing exports
    markup_policy: InclusionPolicy | None = None  # None: the documented defaults


@dataclass(frozen=True)
class Chunks:
    """A file's content made piece by piece as it is written, so a catalogue-sized export
    (graph.nt, graph.ttl, graph.jsonld: about a gigabyte each at 10,000 conditions) is never
    whole in memory. `produce` may be called more than once and gives the same bytes."""

    produce: Callable[[], Iterator[bytes]]

    def join(self) -> bytes:
        return b"".join(self.produce())


Output = bytes | Chunks


def later(make: Callable[[], bytes]) -> Chunks:
    """A file made only when it is written, then dropped: one of thousands of small files
    (a page, a document) that together would not fit in memory."""
    return Chunks(lambda: iter((make(),)))


def content(data: Output) -> bytes:
    """The whole content of an output, however it is made."""
    return data if isinstance(data, bytes) else data.join()


def subject_batches(triples: Iterable[T], size: int) -> Iterator[list[T]]:
    """Sorted triples in runs of at least `size` (the last may be shorter), never splitting
    one subject's triples, so each run serialises on its own as it would within the whole."""
    batch: list[T] = []
    for t in triples:
        if len(batch) >= size and t.subject != batch[-1].subject:
            yield batch
            batch = []
        batch.append(t)
    if batch:
        yield batch


class Exporter(Protocol):
    """One output format. `export` returns relative paths in `dist/` and their content."""

    name: str
    description: str

    def export(self, ctx: ExportContext) -> Mapping[str, Output]: ...
