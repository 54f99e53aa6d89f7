"""The built graph's triples as three columns of term numbers, read as `Statement`s.

At 10,000 conditions the graph has 5.3 million triples but only about 2 million distinct term
objects. A `Statement` per triple kept in a list costs 72 bytes (a tuple and its slot); three
`array("I")` columns cost 12, so the graph keeps about 300 MB less for the whole build. A
`Statement` is made when a triple is read, one at a time or a slice at once, and dropped by the
reader: every exporter and the validator read the graph in order, a batch at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from functools import partial
from itertools import repeat
from typing import overload

from pyoxigraph import Literal, NamedNode

from pipeline.rdfio import Statement

Term = NamedNode | Literal
_statement = partial(tuple.__new__, Statement)  # Statement((s, p, o)) without its __new__


def column() -> array[int]:
    return array("I")


class TripleTable(Sequence[Statement]):
    """Triples `(terms[s[i]], terms[p[i]], terms[o[i]])`, in the order of the columns."""

    __slots__ = ("o", "p", "s", "terms")

    def __init__(self, terms: list[Term], s: array[int], p: array[int], o: array[int]):
        if not len(s) == len(p) == len(o):
            raise ValueError("the three columns of a triple table differ in length")
        self.terms, self.s, self.p, self.o = terms, s, p, o

    def __len__(self) -> int:
        return len(self.s)

    @overload
    def __getitem__(self, i: int) -> Statement: ...
    @overload
    def __getitem__(self, i: slice) -> list[Statement]: ...
    def __getitem__(self, i: int | slice) -> Statement | list[Statement]:
        terms = self.terms
        if isinstance(i, slice):
            return list(self._read(self.s[i], self.p[i], self.o[i]))
        return _statement((terms[self.s[i]], terms[self.p[i]], terms[self.o[i]]))

    def __iter__(self) -> Iterator[Statement]:
        return self._read(self.s, self.p, self.o)

    def _read(self, s: array[int], p: array[int], o: array[int]) -> Iterator[Statement]:
        # All in C: a Python-level loop would double the time of reading the graph.
        get = self.terms.__getitem__
        return map(_statement, zip(map(get, s), map(get, p), map(get, o), strict=True))

    def __repr__(self) -> str:
        return f"<TripleTable of {len(self)} triples, {len(self.terms)} terms>"


def sorted_table(terms: list[Term], s: array[int], p: array[int], o: array[int]) -> TripleTable:
    """The distinct triples of the columns in the order of their N-Triples text.

    A triple's text starts with its subject's, and the space after a subject sorts before
    any character inside one, so the subjects are ordered by text and each subject's triples
    by the rest of theirs. Triples are placed under their subject with a counting sort over
    the columns; only one subject's sort keys exist at a time, not 5 million strings. Equal
    terms may have different numbers (a literal is numbered each time it is made), so
    duplicates are found by their text."""
    rank = array("I", bytes(4 * len(terms)))
    subjects: list[int] = []  # one number for each subject text, in order
    last = None
    for t in sorted(set(s), key=lambda t: str(terms[t])):
        text = str(terms[t])
        if text != last:
            subjects.append(t)
            last = text
        rank[t] = len(subjects) - 1
    starts = array("I", bytes(4 * (len(subjects) + 1)))
    for t in s:
        starts[rank[t] + 1] += 1
    for r in range(len(subjects)):
        starts[r + 1] += starts[r]
    placed, order = array("I", starts), array("I", bytes(4 * len(s)))
    for i, t in enumerate(s):
        r = rank[t]
        order[placed[r]] = i
        placed[r] += 1
    del rank, placed
    out_s, out_p, out_o = column(), column(), column()
    for r, subject in enumerate(subjects):
        run = order[starts[r] : starts[r + 1]]
        if len(run) > 1:
            by_text = {f"{terms[p[i]]} {terms[o[i]]}": i for i in run}
            run = array("I", (by_text[k] for k in sorted(by_text)))
        out_s.extend(repeat(subject, len(run)))
        out_p.extend(p[i] for i in run)
        out_o.extend(o[i] for i in run)
    return TripleTable(terms, out_s, out_p, out_o)


def table_of(triples: Sequence[Statement]) -> TripleTable:
    """The triples, in their order, as a table (terms numbered by identity)."""
    terms: list[Term] = []
    numbers: dict[int, int] = {}
    columns = column(), column(), column()
    for t in triples:
        for term, col in zip(t, columns, strict=True):
            n = numbers.get(id(term))
            if n is None:
                n = numbers[id(term)] = len(terms)
                terms.append(term)
            col.append(n)
    return TripleTable(terms, *columns)
