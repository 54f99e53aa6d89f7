"""The built graph read a node at a time, for exporters that cut documents out of it.

The graph's triples are sorted, so each subject's are one run: a node is read from its run
when asked for, rather than the whole graph being copied into dictionaries (which at 10,000
conditions held millions of objects for the length of the export).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pyoxigraph import Literal, NamedNode

from pipeline.triples import TripleTable
from pipeline.vocab import RDF

Node = dict[str, list[NamedNode | Literal]]  # predicate IRI -> objects, in graph order

_RDF_SUBJECT = RDF + "subject"


class NodeIndex:
    """Where each subject's triples are, and claims by their rdf:subject, in one pass."""

    def __init__(self, triples: Sequence[Any]):  # `Statement`s or `Triple`s, never RDF-star
        self.triples = triples
        self.spans: dict[str, tuple[int, int]] = {}
        self.claims_of: dict[str, list[str]] = defaultdict(list)
        # The built graph's table is read by its columns: no `Statement` per triple read, and
        # each predicate's IRI made a string once (a third of the export's time otherwise).
        self.table = triples if isinstance(triples, TripleTable) else None
        self.names: dict[int, str] = {}
        if self.table is not None:
            self._index_table(self.table)
            return
        current, start = "", 0
        for i, t in enumerate(triples):
            s = t.subject.value
            if s != current:
                self._close(current, start, i)
                current, start = s, i
            if t.predicate.value == _RDF_SUBJECT:
                self.claims_of[t.object.value].append(s)
        self._close(current, start, len(triples))

    def _index_table(self, table: TripleTable) -> None:
        terms = table.terms
        about = {n for n in set(table.p) if terms[n].value == _RDF_SUBJECT}
        number, current, start = -1, "", 0
        for i, (s, p) in enumerate(zip(table.s, table.p, strict=True)):
            if s != number:  # equal IRIs may have two numbers: a run ends where the text does
                number, iri = s, terms[s].value
                if iri != current:
                    self._close(current, start, i)
                    current, start = iri, i
            if p in about:
                self.claims_of[terms[table.o[i]].value].append(current)
        self._close(current, start, len(table))

    def _close(self, subject: str, start: int, end: int) -> None:
        if start == end:
            return
        if subject in self.spans:
            raise ValueError(f"the graph's triples are not sorted: <{subject}> is in two runs")
        self.spans[subject] = (start, end)

    def node(self, iri: str) -> Node:
        """A node's properties (a new dict each time, so builders can pop what they wrote)."""
        start, end = self.spans.get(iri, (0, 0))
        node: Node = {}
        if self.table is not None:
            terms, names = self.table.terms, self.names
            for p, o in zip(self.table.p[start:end], self.table.o[start:end], strict=True):
                name = names.get(p)
                if name is None:
                    name = names[p] = terms[p].value
                node.setdefault(name, []).append(terms[o])
            return node
        for t in self.triples[start:end]:
            node.setdefault(t.predicate.value, []).append(t.object)
        return node
