"""What a shape reads: the triples its result for one focus node can depend on, as steps.

Validating a catalogue in partitions (`pipeline.partition`) is exact only if each partition's
store holds every triple a shape reads for each of the partition's focus nodes. This module
derives that from the shapes themselves, never from knowledge of the data: a compiled core shape
(`pipeline.shaclcore`) and a SHACL-SPARQL constraint (its query's algebra, from rdflib's parser)
each become a `Program` of `Edge`s walked from `$this`.

A program is a list of conjunctive branches (the query's UNIONs and OPTIONALs multiplied out),
each with the programs of its EXISTS and MINUS groups, which see the branch's variables. Within
one branch every solution satisfies every triple pattern, so a variable's candidates may be
taken from any one pattern that links it to a variable already known: a superset of the values
it can take. Steps only ever go forward from a known subject (the subject's triples) or
backward from a known object along a named predicate; never backward from a constant (every
claim is `a ck:Claim`) and never backward along "any predicate". A pattern whose variables
cannot be reached that way, a BIND variable used in a pattern, VALUES, a sub-select, GRAPH or
SERVICE raises `Unreadable`, and the caller validates the whole graph at once instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import NamedNode
from rdflib import BNode, URIRef, Variable
from rdflib import Literal as RdfLiteral
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql import algebra, prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from pipeline.shaclcore import Constraint, Shape, Targeted
from pipeline.sparqlshapes import SparqlConstraint

TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
THIS = "this"

# A node in a program: a variable name, or a constant given as ("iri", value) / ("lit", text).
Node = str | tuple[str, str]


class Unreadable(ValueError):
    """A shape whose reads this module cannot bound; the graph is then validated whole."""


@dataclass(frozen=True)
class Edge:
    """The pattern `subject predicate object`: `predicates` None means any predicate;
    `repeat` is "" for one step, or "*", "+" or "?" for a path of that repetition."""

    subject: Node
    predicates: frozenset[str] | None
    object: Node
    repeat: str = ""


@dataclass
class Branch:
    edges: list[Edge] = field(default_factory=list)
    nested: list[Program] = field(default_factory=list)  # EXISTS / MINUS groups
    bound: set[str] = field(default_factory=set)  # variables given values by BIND

    def join(self, other: Branch) -> Branch:
        return Branch(
            [*self.edges, *other.edges], [*self.nested, *other.nested], self.bound | other.bound
        )


@dataclass
class Program:
    branches: list[Branch]


@dataclass(frozen=True)
class Reads:
    """A shape's focus nodes (its targets) and what it reads from each of them."""

    targets: tuple[tuple[str, str], ...]  # (target predicate local name, IRI or literal text)
    literal_targets: bool  # a sh:targetNode is a literal (such focus nodes are read everywhere)
    program: Program


# --- core shapes -------------------------------------------------------------------------

_PATH_STEP = re.compile(r"(\^?)<([^<>]*)>")


class _Fresh:
    def __init__(self, prefix: str) -> None:
        self.prefix, self.n = prefix, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n}"


def _path_edges(path: str, start: Node, fresh: _Fresh) -> tuple[list[Edge], Node]:
    """Edges for a compiled path (`<p>`, `^<p>`, `<a>/^<b>`) from `start`, and its end."""
    steps = _split_path(path)
    edges, here = [], start
    for inverse, iri in steps:
        there = fresh()
        if inverse:
            edges.append(Edge(there, frozenset({iri}), here))
        else:
            edges.append(Edge(here, frozenset({iri}), there))
        here = there
    return edges, here


def _split_path(path: str) -> list[tuple[bool, str]]:
    steps, at = [], 0
    while at < len(path):
        m = _PATH_STEP.match(path, at)
        if m is None:
            raise Unreadable(f"property path {path}")
        steps.append((bool(m.group(1)), m.group(2)))
        at = m.end()
        if at < len(path):
            if path[at] != "/":
                raise Unreadable(f"property path {path}")
            at += 1
    return steps


def _class_edges(node: Node, fresh: _Fresh) -> list[Edge]:
    """What `sh:class` reads of a node: its types and their superclasses."""
    kind = fresh()
    return [Edge(node, frozenset({TYPE}), kind), Edge(kind, frozenset({SUBCLASS}), fresh(), "*")]


def _shape_edges(shape: Shape, node: Node, fresh: _Fresh) -> list[Edge]:
    edges: list[Edge] = []
    value = node
    if shape.path is not None:
        path_edges, value = _path_edges(shape.path, node, fresh)
        edges.extend(path_edges)
    for c in shape.constraints:
        edges.extend(_constraint_edges(c, value, fresh))
    for prop in shape.properties:
        edges.extend(_shape_edges(prop, value, fresh))
    return edges


def _constraint_edges(c: Constraint, node: Node, fresh: _Fresh) -> list[Edge]:
    if c.component == "ClassConstraintComponent":
        return _class_edges(node, fresh)
    if c.component == "OrConstraintComponent":
        return [e for member in c.args[0] for e in _shape_edges(member, node, fresh)]
    return []  # the other components look at the values alone


def core_reads(targeted: Targeted) -> Reads:
    fresh = _Fresh("v")
    targets = tuple((kind, obj.value) for kind, obj in targeted.targets)
    literal = any(not isinstance(obj, NamedNode) for _, obj in targeted.targets)
    edges = _shape_edges(targeted.shape, THIS, fresh)
    return Reads(targets, literal, Program([Branch(edges)]))


# --- SHACL-SPARQL constraints ------------------------------------------------------------


def sparql_reads(c: SparqlConstraint) -> Reads:
    try:
        query = prepareQuery(c.select, initNs=dict(c.prefixes))
    except Exception as e:  # rdflib raises pyparsing's and its own errors alike
        raise Unreadable(f"{c.shape}: the query does not parse ({e})") from e
    fresh = _Fresh("_p")
    program = Program(_branches(query.algebra, fresh, top=True))
    return Reads(c.targets, False, program)


_PASS = {"Project", "Distinct", "Reduced", "Slice", "OrderBy", "Group", "AggregateJoin"}


def _branches(node: CompValue, fresh: _Fresh, top: bool = False) -> list[Branch]:
    name = node.name
    if name == "SelectQuery":
        if not top:
            raise Unreadable("a sub-select")
        return _branches(node.p, fresh, top=True)
    if name in _PASS:
        if name == "Project" and not top:
            raise Unreadable("a sub-select")
        return _branches(node.p, fresh, top=top)
    if name == "GroupGraphPatternSub":
        return _branches(algebra.translateGroupGraphPattern(node), fresh)
    if name == "BGP":
        edges: list[Edge] = []
        for s, p, o in node.triples:
            edges.extend(_triple_edges(s, p, o, fresh))
        return [Branch(edges)]
    if name == "Filter":
        inner = _branches(node.p, fresh, top=top)
        nested = [Program(_branches(g, fresh)) for g in _exists_graphs(node.expr)]
        return [Branch(b.edges, [*b.nested, *nested], b.bound) for b in inner]
    if name == "Extend":
        inner = _branches(node.p, fresh, top=top)
        nested = [Program(_branches(g, fresh)) for g in _exists_graphs(node.expr)]
        var = str(node.var)
        return [Branch(b.edges, [*b.nested, *nested], b.bound | {var}) for b in inner]
    if name == "Join":
        left, right = _branches(node.p1, fresh, top=top), _branches(node.p2, fresh, top=top)
        return [a.join(b) for a in left for b in right]
    if name == "LeftJoin":
        left, right = _branches(node.p1, fresh, top=top), _branches(node.p2, fresh, top=top)
        nested = [Program(_branches(g, fresh)) for g in _exists_graphs(node.get("expr"))]
        joined = [a.join(b) for a in left for b in right]
        return [*left, *(Branch(b.edges, [*b.nested, *nested], b.bound) for b in joined)]
    if name == "Union":
        return [*_branches(node.p1, fresh, top=top), *_branches(node.p2, fresh, top=top)]
    if name == "Minus":
        left = _branches(node.p1, fresh, top=top)
        minus = Program(_branches(node.p2, fresh))
        return [Branch(b.edges, [*b.nested, minus], b.bound) for b in left]
    raise Unreadable(f"SPARQL {name}")


def _exists_graphs(expr: Any) -> Iterator[CompValue]:
    """The graph patterns of the EXISTS and NOT EXISTS inside an expression."""
    if isinstance(expr, CompValue):
        if expr.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            yield expr.graph
            return
        for value in expr.values():
            yield from _exists_graphs(value)
    elif isinstance(expr, list | tuple):
        for item in expr:
            yield from _exists_graphs(item)


def _node(term: Any) -> Node:
    if isinstance(term, Variable):
        return str(term)
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, RdfLiteral):
        return ("lit", str(term))
    if isinstance(term, BNode):  # a blank node in a pattern is a variable
        return f"_b{term}"
    raise Unreadable(f"pattern term {term!r}")


def _triple_edges(s: Any, p: Any, o: Any, fresh: _Fresh) -> list[Edge]:
    return _path_to_edges(_node(s), p, _node(o), fresh)


def _path_to_edges(s: Node, p: Any, o: Node, fresh: _Fresh) -> list[Edge]:
    if isinstance(p, URIRef):
        return [Edge(s, frozenset({str(p)}), o)]
    if isinstance(p, Variable):
        return [Edge(s, None, o)]
    if isinstance(p, InvPath):
        return _path_to_edges(o, p.arg, s, fresh)
    if isinstance(p, SequencePath):
        edges, here = [], s
        for i, step in enumerate(p.args):
            there = o if i == len(p.args) - 1 else fresh()
            edges.extend(_path_to_edges(here, step, there, fresh))
            here = there
        return edges
    if isinstance(p, AlternativePath):
        if not all(isinstance(a, URIRef) for a in p.args):
            raise Unreadable(f"alternative path {p}")
        return [Edge(s, frozenset(str(a) for a in p.args), o)]
    if isinstance(p, MulPath):
        if isinstance(p.path, URIRef):
            return [Edge(s, frozenset({str(p.path)}), o, p.mod)]
        if isinstance(p.path, InvPath) and isinstance(p.path.arg, URIRef):
            return [Edge(o, frozenset({str(p.path.arg)}), s, p.mod)]
        raise Unreadable(f"repeated path {p}")
    if isinstance(p, NegatedPath | Path):
        return [Edge(s, None, o)]  # any predicate: a superset of what it can match
    raise Unreadable(f"predicate {p!r}")


# --- the order in which a branch is walked -----------------------------------------------


def plan(branch: Branch, known: set[str]) -> list[tuple[Edge, bool]]:
    """The branch's edges in an order that starts each from a known end: (edge, forward).

    Raises `Unreadable` when some edge cannot be reached from `known` (the focus node and the
    variables of enclosing branches) without a step backward from a constant or along any
    predicate."""
    known = set(known)
    for edge in branch.edges:
        for end in (edge.subject, edge.object):
            if isinstance(end, str) and end in branch.bound:
                raise Unreadable(f"BIND variable ?{end} used in a pattern")
    order: list[tuple[Edge, bool]] = []
    pending = list(branch.edges)
    while pending:
        for edge in pending:
            if _ready(edge.subject, known):
                order.append((edge, True))
            elif (
                isinstance(edge.object, str)
                and edge.object in known
                and edge.predicates is not None
            ):
                order.append((edge, False))
            else:
                continue
            pending.remove(edge)
            for end in (edge.subject, edge.object):
                if isinstance(end, str):
                    known.add(end)
            break
        else:
            raise Unreadable(f"pattern {pending[0]} is not reachable from the focus node")
    return order


def _ready(node: Node, known: set[str]) -> bool:
    return not isinstance(node, str) or node in known


def check(reads: Reads) -> None:
    """Raise `Unreadable` unless every branch (and nested group) can be planned."""
    for _ in walk(reads.program, {THIS}):
        pass


def walk(program: Program, known: set[str]) -> Iterator[tuple[Edge, bool]]:
    """Every edge of the program and of its nested groups, planned: (edge, forward)."""
    for branch in program.branches:
        order = plan(branch, known)
        yield from order
        inner = known | variables(order)
        for nested in branch.nested:
            yield from walk(nested, inner)


def variables(order: list[tuple[Edge, bool]]) -> set[str]:
    """The variables a planned branch binds."""
    return {end for e, _ in order for end in (e.subject, e.object) if isinstance(end, str)}


def edges(programs: Iterable[Program]) -> Iterator[Edge]:
    """Every edge of these programs and of their nested groups, unplanned."""
    for program in programs:
        for branch in program.branches:
            yield from branch.edges
            yield from edges(branch.nested)
