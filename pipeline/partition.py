"""Validation in partitions: a store per slice of the catalogue instead of one for all of it.

pyoxigraph's in-memory store costs about 366 bytes a triple, 1.9 GB at 10,000 conditions. Here
the focus nodes are cut into key ranges of about `size` triples each; for each range a store is
loaded with the triples every shape reads for those focus nodes (`pipeline.reads`; the range's
own subjects bring all their triples, a superset) and the usual engine runs on it. A result is
kept only by the partition that owns its focus node, so each (shape, focus node) is reported
once, by a store holding everything its evaluation reads: the results of one store for the
whole graph. tests/test_partition.py compares the two on broken fixtures and on catalogues with
random damage, and shows that a reader missing one kind of step is caught.

Blank nodes (and RDF-star triples) have no identity of their own across separately loaded
stores, so a graph with any is validated whole, as is one whose shapes `pipeline.reads` cannot
bound, and one whose triples are not grouped by subject (the built graph is sorted).

The cuts fall where the content says (a subject whose key's CRC-32 hits, once a range is half
full), not every `size` triples, so an edit moves no cut but maybe the next one: the other
ranges keep the same stores, and a `Memo` can give their results from an earlier build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from pipeline.rdfio import AnyTriple
from pipeline.reads import (
    SUBCLASS,
    THIS,
    TYPE,
    Branch,
    Edge,
    Program,
    Reads,
    Unreadable,
    edges,
    plan,
    variables,
    walk,
)
from pipeline.slices import Bounds, Slices, key_of, slices_of
from pipeline.sparqlshapes import RawResult

Term = NamedNode | BlankNode | Literal | Triple
_UNSTABLE = (BlankNode, Triple)  # terms without an identity of their own across stores


class Engine(Protocol):
    """Validates one store's triples (given as N-Triples too, when they were serialised
    already); may leave out results about focus nodes `owns` refuses."""

    def __call__(
        self, part: Sequence[AnyTriple], owns: Callable[[Term], bool], ntriples: bytes = ...
    ) -> list[RawResult]: ...


# A partition's results, from `compute` (handed the store's N-Triples when the memo made
# them) or kept from an earlier build with the same store triples and key range
# (pipeline.validcache).
Compute = Callable[[bytes | None], list[RawResult]]
Memo = Callable[[Sequence[AnyTriple], Bounds, Compute], list[RawResult]]
Signature = tuple[object, ...]


@dataclass
class GraphIndex:
    """Each subject's run of triples, and subjects by (predicate, object) for the predicates
    some shape follows backwards or targets."""

    triples: Sequence[AnyTriple]
    starts: list[int]  # run i is triples[starts[i]:starts[i + 1]]
    runs: dict[Term, int]  # subject -> its run
    backward: dict[NamedNode, dict[Term, list[Term]]]
    exact: bool  # no blank node, and each subject's triples together (as the graph is built)

    @classmethod
    def of(cls, triples: Sequence[AnyTriple], predicates: Iterable[NamedNode]) -> GraphIndex:
        wanted = set(predicates)
        backward: dict[NamedNode, dict[Term, list[Term]]] = {p: {} for p in wanted}
        starts: list[int] = []
        runs: dict[Term, int] = {}
        previous: object = None
        exact = True
        for i, t in enumerate(triples):
            s = t.subject
            if s is not previous and s != previous:
                exact = exact and s not in runs and type(s) not in _UNSTABLE
                runs[s] = len(starts)
                starts.append(i)
                previous = s
            o = t.object
            if type(o) in _UNSTABLE:
                exact = False
            by_object = backward.get(t.predicate)
            if by_object is not None:
                by_object.setdefault(o, []).append(s)
        starts.append(len(triples))
        return cls(triples, starts, runs, backward, exact)

    def objects(self, nodes: Iterable[Term], predicates: frozenset[NamedNode] | None) -> set[Term]:
        found: set[Term] = set()
        triples, starts, runs = self.triples, self.starts, self.runs
        for x in nodes:
            r = runs.get(x)
            if r is not None:
                for t in triples[starts[r] : starts[r + 1]]:
                    if predicates is None or t.predicate in predicates:
                        found.add(t.object)
        return found

    def subjects(self, nodes: Iterable[Term], predicates: frozenset[NamedNode]) -> set[Term]:
        found: set[Term] = set()
        for p in predicates:
            by_object = self.backward[p]
            for x in nodes:
                found.update(by_object.get(x, ()))
        return found


ANY = None  # "every predicate", as a key of `_Reader.need`


@dataclass
class _Reader:
    """Collects the triples one partition's store needs: by predicate (ANY for all), the
    subjects whose triples with that predicate some shape reads."""

    index: GraphIndex
    followed: frozenset[NamedNode]  # every predicate some edge names
    need: dict[NamedNode | None, set[Term]] = field(default_factory=dict)
    steps: dict[Signature, set[Term]] = field(default_factory=dict)
    grouped: dict[Signature, dict[NamedNode, set[Term]]] = field(default_factory=dict)
    by_nodes: dict[frozenset[Term], dict[NamedNode, set[Term]]] = field(default_factory=dict)
    read_once: set[Signature] = field(default_factory=set)
    plans: dict[tuple[int, frozenset[str]], tuple[list[tuple[Edge, bool]], set[str]]] = field(
        default_factory=dict
    )

    def read(self, nodes: set[Term], predicates: Iterable[NamedNode] | None) -> None:
        for p in (ANY,) if predicates is None else predicates:
            self.need.setdefault(p, set()).update(nodes)

    def read_from(self, sig: Signature, start: set[Term], preds: frozenset[str] | None) -> None:
        key = ("read", sig, preds)
        if key not in self.read_once:
            self.read_once.add(key)
            self.read(start, None if preds is None else map(NamedNode, preds))

    def _objects(self, sig: Signature, start: set[Term]) -> dict[NamedNode, set[Term]]:
        """The objects of the start nodes' triples by predicate, for the predicates some
        edge names: one pass over their triples for all the steps leaving from them."""
        found = self.grouped.get(sig)
        if found is None:
            # Different walks often reach the same nodes (a claim's evidence, an evidence's
            # body): grouped once per set of nodes, whatever the walk.
            same = frozenset(start)
            found = self.by_nodes.get(same)
            if found is not None:
                self.grouped[sig] = found
                return found
            found = self.by_nodes[same] = {}
            followed, triples, starts, runs = (
                self.followed,
                self.index.triples,
                self.index.starts,
                self.index.runs,
            )
            for x in start:
                r = runs.get(x)
                if r is not None:
                    for t in triples[starts[r] : starts[r + 1]]:
                        if t.predicate in followed:
                            found.setdefault(t.predicate, set()).add(t.object)
            self.grouped[sig] = found
        return found

    def step(self, edge: Edge, forward: bool, sig: Signature, start: set[Term]) -> set[Term]:
        """The nodes one edge reaches from `start`, every triple it reads noted in `need`."""
        key = (sig, edge.predicates, edge.repeat, forward)
        found = self.steps.get(key)
        if found is not None:
            return found
        names = edge.predicates
        predicates = None if names is None else frozenset(map(NamedNode, names))
        repeated = edge.repeat in ("*", "+")
        reached = set(start) if edge.repeat in ("*", "?") else set()
        if forward:
            self.read_from(sig, start, names)
            if predicates is None:
                nxt = self.index.objects(start, predicates)
            else:
                by_predicate = self._objects(sig, start)
                nxt = set().union(*(by_predicate.get(p, ()) for p in predicates))
        else:
            assert predicates is not None  # `plan` never goes back along any predicate
            nxt = self.index.subjects(start, predicates)
            self.read(nxt, predicates)
        frontier = nxt - reached if repeated else set()
        reached |= nxt
        while frontier:  # rdfs:subClassOf* and the like: a few nodes, step by step
            if forward:
                self.read(frontier, predicates)
                nxt = self.index.objects(frontier, predicates)
            else:
                assert predicates is not None
                nxt = self.index.subjects(frontier, predicates)
                self.read(nxt, predicates)
            frontier = nxt - reached
            reached |= nxt
        self.steps[key] = reached
        return reached

    def program(self, program: Program, env: dict[str, tuple[Signature, set[Term]]]) -> None:
        for branch in program.branches:
            self.branch(branch, env)

    def branch(self, branch: Branch, env: dict[str, tuple[Signature, set[Term]]]) -> None:
        known = dict(env)
        order, used = self._plan(branch, frozenset(known))
        for edge, forward in order:
            here, there = (edge.subject, edge.object) if forward else (edge.object, edge.subject)
            if isinstance(here, str):
                sig, start = known[here]
            else:
                sig, start = ("const", here), {NamedNode(here[1])}
            if forward and not edge.repeat and not (isinstance(there, str) and there in used):
                # The far end is bound already, a constant, or never a starting point: only
                # the triples from `start` are read; their objects are not needed.
                self.read_from(sig, start, edge.predicates)
                if isinstance(there, str) and there not in known:
                    known[there] = (("unused",), set())
                continue
            reached = self.step(edge, forward, sig, start)
            if isinstance(there, str) and there not in known:
                known[there] = ((sig, edge.predicates, edge.repeat, forward), reached)
        for nested in branch.nested:
            self.program(nested, known)

    def _plan(
        self, branch: Branch, known: frozenset[str]
    ) -> tuple[list[tuple[Edge, bool]], set[str]]:
        """The branch's walk, and the variables some later step or nested group starts from."""
        key = (id(branch), known)
        if key not in self.plans:
            order = plan(branch, set(known))
            used = {e.subject if fwd else e.object for e, fwd in order}
            mentioned = {end for e in edges(branch.nested) for end in (e.subject, e.object)}
            used |= mentioned & (known | variables(order))
            self.plans[key] = (order, {v for v in used if isinstance(v, str)})
        return self.plans[key]


def _focus(index: GraphIndex, reads: Reads) -> set[Term]:
    """A shape's focus nodes in the whole graph."""
    focus: set[Term] = set()
    for kind, iri in reads.targets:
        node = NamedNode(iri)
        if kind == "targetNode":
            focus.add(node)
        elif kind == "targetClass":
            for c in _subclasses(index, node):
                focus.update(index.backward[_TYPE].get(c, ()))
        elif kind == "targetSubjectsOf":
            for subjects in index.backward[node].values():
                focus.update(subjects)
        elif kind == "targetObjectsOf":
            focus.update(index.backward[node])
        else:
            raise Unreadable(f"target {kind}")
    return focus


def _read_targets(reader: _Reader, reads: Reads, seeds: set[Term]) -> None:
    """Note the triples that make `seeds` focus nodes of the shape in the partition's store."""
    for kind, iri in reads.targets:
        node = NamedNode(iri)
        if kind == "targetClass":
            reader.read(seeds, (_TYPE,))
            reader.read(_subclasses(reader.index, node), (_SUBCLASS,))
        elif kind == "targetSubjectsOf":
            reader.read(seeds, (node,))
        elif kind == "targetObjectsOf":
            reader.read(reader.index.subjects(seeds, frozenset({node})), (node,))
        # targetNode: a focus node whatever the data says


def _subclasses(index: GraphIndex, node: NamedNode) -> set[Term]:
    """`node` and its subclasses, through the rdfs:subClassOf chains in the data."""
    classes: set[Term] = {node}
    frontier: set[Term] = {node}
    while frontier:
        frontier = index.subjects(frontier, frozenset({_SUBCLASS})) - classes
        classes |= frontier
    return classes


_TYPE, _SUBCLASS = NamedNode(TYPE), NamedNode(SUBCLASS)


def predicates_used(all_reads: Sequence[Reads]) -> set[NamedNode]:
    """Predicates some target or backward step needs indexed by object."""
    used = {_TYPE, _SUBCLASS}
    for reads in all_reads:
        for kind, iri in reads.targets:
            if kind in ("targetSubjectsOf", "targetObjectsOf"):
                used.add(NamedNode(iri))
        for edge, forward in walk(reads.program, {THIS}):
            if not forward:
                used.update(NamedNode(p) for p in edge.predicates or ())
    return used


def validate_in_partitions(
    triples: Sequence[AnyTriple],
    all_reads: Sequence[Reads],
    engine: Engine,
    size: int,
    memo: Memo | None = None,
) -> list[RawResult] | None:
    """`engine`'s results on the whole graph, computed a partition at a time (through `memo`,
    when given); None when the graph cannot be partitioned exactly (the caller then validates
    it whole)."""
    if any(r.literal_targets for r in all_reads):
        return None
    index = GraphIndex.of(triples, predicates_used(all_reads))
    if not index.exact:
        return None
    slices = slices_of(lambda r: index.triples[index.starts[r]].subject, index.starts, size)
    if slices.count < 2:
        return None
    # Focus nodes by partition, worked out once per distinct set of targets (many shapes
    # target the same classes).
    seeds: dict[tuple[tuple[str, str], ...], list[set[Term]]] = {}
    for reads in all_reads:
        if reads.targets not in seeds:
            seeds[reads.targets] = _by_slice(_focus(index, reads), slices)
    programs = [r.program for r in all_reads]
    followed = frozenset(NamedNode(p) for e in edges(programs) for p in e.predicates or ())
    results: list[RawResult] = []
    for k in range(slices.count):
        reader = _Reader(index, followed)
        for reads in all_reads:
            focus = seeds[reads.targets][k]
            if focus:
                _read_targets(reader, reads, focus)
                reader.program(reads.program, {THIS: (("focus", reads.targets), focus)})

        def owns(node: Term, k: int = k) -> bool:
            return isinstance(node, Literal) or slices.of(key_of(node)) == k

        part = _store_triples(index, reader.need, owns)

        def run(
            ntriples: bytes | None = None,
            part: list[AnyTriple] = part,
            owns: Callable[[Term], bool] = owns,
            k: int = k,
        ) -> list[RawResult]:
            found = engine(part, owns) if ntriples is None else engine(part, owns, ntriples)
            return [r for r in found if slices.of(r.focus) == k]

        results.extend(run() if memo is None else memo(part, slices.range(k), run))
        del part, run  # before the next partition's reader runs
    return results


def _by_slice(focus: set[Term], slices: Slices) -> list[set[Term]]:
    found: list[set[Term]] = [set() for _ in range(slices.count)]
    everywhere: set[Term] = set()
    for x in focus:
        if isinstance(x, Literal):
            everywhere.add(x)  # engines write a literal's key differently: read it everywhere
        else:
            found[slices.of(key_of(x))].add(x)
    for part in found:
        part.update(everywhere)
    return found


def _store_triples(
    index: GraphIndex, need: dict[NamedNode | None, set[Term]], own: Callable[[Term], bool]
) -> list[AnyTriple]:
    """The triples noted in `need`, in the graph's order. The partition's own subjects (its
    focus nodes, whose triples the shapes mostly read) bring all their triples: a superset,
    cheaper to gather than the exact ones."""
    every = need.get(ANY, set())
    subjects = set().union(*need.values())
    triples, starts, runs = index.triples, index.starts, index.runs
    empty: set[Term] = set()
    found: list[AnyTriple] = []
    for r in sorted(runs[s] for s in subjects if s in runs):
        s = triples[starts[r]].subject
        if s in every or own(s):
            found.extend(triples[starts[r] : starts[r + 1]])
            continue
        for t in triples[starts[r] : starts[r + 1]]:
            if s in need.get(t.predicate, empty):
                found.append(t)
    return found


__all__ = ["GraphIndex", "predicates_used", "validate_in_partitions"]
