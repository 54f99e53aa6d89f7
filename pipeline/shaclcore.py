"""SHACL core constraints compiled to bulk lookups on pyoxigraph, reporting what pySHACL reports.

pySHACL walks every focus node in Python over rdflib (seconds at 10k triples, minutes at 400k).
Here each targeted shape is compiled once into a plan; running it issues one SPARQL query per
target, per distinct property path (all focus/value pairs at once) and per class (its
instances), and checks the values in Python with pySHACL's own rules (term equality for
sh:in/sh:hasValue, rdflib's literal parsing for sh:datatype and sh:minExclusive, the lexical form
for sh:pattern/sh:minLength). A result names the shape that owns the constraint, its severity
and its sh:message, as pySHACL does. Anything outside that subset raises `Unsupported` at compile
time, and `compile_shapes` leaves such a shape to pySHACL: nothing is ever skipped silently.
Shapes without sh:message are refused too (pySHACL would print its generic text; ours all carry
one). `tests/test_shaclcore.py` proves the two engines agree problem for problem.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from typing import Any

from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node as RdfNode

from pipeline.report import Severity
from pipeline.sparqlshapes import RawResult

Term = NamedNode | BlankNode | Literal
_SEVERITY = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING, SH.Info: Severity.INFO}
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_SINGLE = {  # parameter -> constraint component (pySHACL refuses repeats of these)
    SH.minCount: "MinCountConstraintComponent",
    SH.maxCount: "MaxCountConstraintComponent",
    SH.datatype: "DatatypeConstraintComponent",
    SH.nodeKind: "NodeKindConstraintComponent",
    SH.minLength: "MinLengthConstraintComponent",
    SH.minExclusive: "MinExclusiveConstraintComponent",
}
_MULTI = {
    SH["class"]: "ClassConstraintComponent",
    SH["in"]: "InConstraintComponent",
    SH.pattern: "PatternConstraintComponent",
    SH.hasValue: "HasValueConstraintComponent",
    SH["or"]: "OrConstraintComponent",
}
# sh: predicates that carry no constraint (sh:flags is read with sh:pattern)
_INERT = {SH.severity, SH.message, SH.name, SH.description, SH.order, SH.group, SH.flags}
_INERT |= {SH.path, SH.property, *_TARGETS}
_LANG_STRING = str(RDF.langString)
_STRINGISH = "http://www.w3.org/2001/XMLSchema#string"
_SURROGATE = "urn:crampkg:lexical:"  # datatype prefix keeping a literal's lexical form verbatim
_KINDS = {
    SH.IRI: (NamedNode,),
    SH.BlankNode: (BlankNode,),
    SH.Literal: (Literal,),
    SH.BlankNodeOrIRI: (BlankNode, NamedNode),
    SH.BlankNodeOrLiteral: (BlankNode, Literal),
    SH.IRIOrLiteral: (NamedNode, Literal),
}


class Unsupported(ValueError):
    """A shape uses a SHACL feature this compiler does not implement exactly."""


@dataclass(frozen=True)
class Constraint:
    component: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Shape:
    name: str | None  # IRI of a named shape; results of blank shapes name the component
    path: str | None  # SPARQL property path; None for a node shape
    severity: Severity
    allowed: bool  # pySHACL's allow_warnings: a nested Warning/Info shape always conforms
    messages: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    properties: tuple[Shape, ...]


@dataclass(frozen=True)
class Targeted:
    shape: Shape
    targets: tuple[tuple[str, Term], ...]  # (target predicate local name, object)


def _ox(node: RdfNode) -> NamedNode | Literal:
    if isinstance(node, URIRef):
        return NamedNode(str(node))
    if isinstance(node, RdfLiteral):
        if node.language:
            return Literal(str(node), language=node.language)
        if node.datatype is None:
            return Literal(str(node))
        if str(node.datatype) == _STRINGISH:  # rdflib tells it from a plain literal; we can't
            raise Unsupported("xsd:string-typed literal in a shape")
        return Literal(str(node), datatype=NamedNode(str(node.datatype)))
    raise Unsupported(f"blank node {node} as a constraint parameter")


def _path(g: Graph, p: RdfNode) -> str:
    if isinstance(p, URIRef):
        return f"<{p}>"
    if isinstance(p, BNode):
        inverse = list(g.objects(p, SH.inversePath))
        if inverse and len(list(g.predicate_objects(p))) == 1 and isinstance(inverse[0], URIRef):
            return f"^<{inverse[0]}>"
        if g.value(p, RDF.first) is not None:
            items = list(Collection(g, p))
            if len(items) >= 2 and all(g.value(i, RDF.first) is None for i in items):
                return "/".join(_path(g, i) for i in items)
    raise Unsupported(f"property path {p}")


def _one(g: Graph, shape: RdfNode, pred: URIRef) -> RdfNode | None:
    values = list(g.objects(shape, pred))
    if len(values) > 1:
        raise Unsupported(f"{len(values)} values of {pred} on {shape}")
    return values[0] if values else None


def _int(value: RdfNode | None) -> int:
    if not isinstance(value, RdfLiteral) or value.datatype != XSD.integer or value.ill_typed:
        raise Unsupported(f"non-integer count {value}")
    return int(value)


def _constraint(g: Graph, shape: RdfNode, pred: URIRef, value: RdfNode) -> Constraint:
    name = _SINGLE.get(pred) or _MULTI[pred]
    if pred in (SH.minCount, SH.maxCount, SH.minLength):
        return Constraint(name, (_int(value),))
    if pred == SH.datatype or pred == SH["class"]:
        if not isinstance(value, URIRef) or value in (XSD.date, XSD.time, XSD.dateTime):
            raise Unsupported(f"{pred} {value}")  # rdflib's date parsing is not mirrored
        return Constraint(name, (str(value),))
    if pred == SH.nodeKind:
        if value not in _KINDS:
            raise Unsupported(f"sh:nodeKind {value}")
        return Constraint(name, (_KINDS[value],))
    if pred == SH.minExclusive:
        if not isinstance(value, RdfLiteral):
            raise Unsupported(f"sh:minExclusive {value}")
        return Constraint(name, (value,))
    if pred == SH.hasValue:
        return Constraint(name, (_ox(value), value))
    if pred == SH["in"]:
        members = list(Collection(g, value))
        literals = frozenset(m for m in members if isinstance(m, RdfLiteral))
        return Constraint(name, (frozenset(_ox(m) for m in members), literals))
    if pred == SH.pattern:
        flags_node = _one(g, shape, SH.flags)
        flags = str(flags_node).lower() if flags_node is not None else ""
        if set(flags) - {"i", "m"} or not isinstance(value, RdfLiteral):
            raise Unsupported(f"sh:pattern {value} with flags {flags!r}")
        re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
        return Constraint(name, (re.compile(str(value), re_flags),))
    members = tuple(_shape(g, m, nested=True) for m in Collection(g, value))  # sh:or
    if not members or any(m.path is not None or m.properties for m in members):
        raise Unsupported("sh:or member that is empty or has property shapes")
    return Constraint(name, (members,))


def _shape(g: Graph, node: RdfNode, nested: bool = False, has_path: bool = False) -> Shape:
    if (node, SH.deactivated, None) in g:
        raise Unsupported(f"sh:deactivated on {node}")
    if any((node, RDF.type, c) in g for c in (RDFS.Class, OWL.Class)):
        raise Unsupported(f"implicit class target on {node}")
    constraints: list[Constraint] = []
    for pred in sorted(set(g.predicates(node, None))):
        if not str(pred).startswith(str(SH)) or pred in _INERT:
            continue
        if pred not in _SINGLE and pred not in _MULTI:
            raise Unsupported(f"{pred} on {node}")
        values = sorted(g.objects(node, pred))
        if pred in _SINGLE and len(values) > 1:
            raise Unsupported(f"{len(values)} values of {pred} on {node}")
        constraints.extend(_constraint(g, node, pred, v) for v in values)
    path_node = _one(g, node, SH.path)
    properties = tuple(_shape(g, p, has_path=True) for p in sorted(g.objects(node, SH.property)))
    if has_path and path_node is None:
        raise Unsupported(f"sh:property {node} without sh:path")
    severity_node = _one(g, node, SH.severity)
    messages = tuple(sorted(str(m) for m in g.objects(node, SH.message)))
    if not nested and (constraints or path_node is not None) and not messages:
        raise Unsupported(f"{node} has no sh:message (pySHACL would use its generic text)")
    if any(not isinstance(m, RdfLiteral) for m in g.objects(node, SH.message)):
        raise Unsupported(f"non-literal sh:message on {node}")
    return Shape(
        name=str(node) if isinstance(node, URIRef) else None,
        path=None if path_node is None else _path(g, path_node),
        severity=_SEVERITY.get(severity_node, Severity.VIOLATION),  # type: ignore[arg-type]
        allowed=severity_node in (SH.Warning, SH.Info),
        messages=messages,
        constraints=tuple(constraints),
        properties=properties,
    )


def compile_shapes(shapes: Graph) -> tuple[list[Targeted], Graph]:
    """The shapes this module runs, and a copy of `shapes` whose other targets pySHACL runs."""
    compiled: list[Targeted] = []
    rest = Graph()
    for t in shapes:
        rest.add(t)
    for node in sorted({s for p in _TARGETS for s in shapes.subjects(p, None)}):
        try:
            targets = tuple(
                (str(p).rsplit("#", 1)[-1], _ox(o))
                for p in _TARGETS
                for o in sorted(shapes.objects(node, p))
                if p == SH.targetNode or isinstance(o, URIRef) or _ox(o) is None
            )
            if len(targets) != sum(1 for p in _TARGETS for _ in shapes.objects(node, p)):
                raise Unsupported(f"non-IRI target on {node}")
            shape = _shape(shapes, node)
        except Unsupported:
            continue
        compiled.append(Targeted(shape, targets))
        for p in _TARGETS:
            rest.remove((node, p, None))
    return compiled, rest


def needs_pyshacl(rest: Graph) -> bool:
    """Whether the shapes left over would make pySHACL report anything at all."""
    if any((None, p, None) in rest for p in _TARGETS):
        return True
    classes = set(rest.subjects(RDF.type, RDFS.Class)) | set(rest.subjects(RDF.type, OWL.Class))
    kinds = set(rest.subjects(RDF.type, SH.NodeShape)) | set(
        rest.subjects(RDF.type, SH.PropertyShape)
    )
    return bool(classes & kinds)


def _stored(lit: Literal) -> Literal:
    """The term standing for a typed literal: rdflib's canonical form, or the original if ill-typed."""
    r = RdfLiteral(lit.value, datatype=URIRef(lit.datatype.value))
    return lit if r.ill_typed else Literal(str(r), datatype=lit.datatype)


def exact_store(triples: Iterable[Any], store: Store) -> tuple[Store, Callable[[Term], Term]]:
    """`store`, or a copy whose typed literals are the terms pySHACL sees through rdflib.

    rdflib rewrites "01"^^xsd:integer to "1" but keeps "1.0"^^xsd:double, which oxigraph stores
    as "1"; literals whose stored form would differ get a surrogate datatype (keeping rdflib's
    lexical form, or the original one if ill-typed) and are turned back on the way out.
    """
    typed = {
        t.object
        for t in triples
        if isinstance(t.object, Literal)
        and not t.object.language
        and t.object.datatype.value != _STRINGISH
    }
    final = {lit: _stored(lit) for lit in typed}
    probe = Store()
    s, p = NamedNode("urn:s"), NamedNode("urn:p")
    probe.extend(Quad(s, p, n, DefaultGraph()) for n in final.values())
    kept = {q.object for q in probe}
    for lit, n in final.items():
        if n not in kept:
            final[lit] = Literal(n.value, datatype=NamedNode(_SURROGATE + n.datatype.value))
    changed = {lit: n for lit, n in final.items() if n != lit}
    if not changed:
        return store, lambda term: term
    copy = Store()
    copy.extend(
        Quad(t.subject, t.predicate, changed.get(t.object, t.object), DefaultGraph())
        for t in triples
    )

    def unmap(term: Term) -> Term:
        if isinstance(term, Literal) and term.datatype.value.startswith(_SURROGATE):
            return Literal(term.value, datatype=NamedNode(term.datatype.value[len(_SURROGATE) :]))
        return term

    return copy, unmap


_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
_FOCUS = {
    "targetClass": "SELECT DISTINCT ?x WHERE {{ ?x a/" + _SUBCLASS + "* {t} }}",
    "targetSubjectsOf": "SELECT DISTINCT ?x WHERE {{ ?x {t} ?o }}",
    "targetObjectsOf": "SELECT DISTINCT ?x WHERE {{ ?s {t} ?x }}",
}
Values = dict[Term, tuple[Term, ...]]


class _Data:
    """Bulk lookups on the store, each made once per validation run."""

    def __init__(self, store: Store, unmap: Callable[[Term], Term]) -> None:
        self.store, self.unmap = store, unmap
        self._paths: dict[str, dict[Term, tuple[Term, ...]]] = {}
        self._classes: dict[str, frozenset[Term]] = {}

    def _column(self, query: str) -> Iterator[Term]:
        return (self.unmap(row[0]) for row in self.store.query(query))  # type: ignore[union-attr]

    def focus(self, targets: tuple[tuple[str, Term], ...]) -> set[Term]:
        found: set[Term] = set()
        for kind, obj in targets:
            if kind == "targetNode":
                found.add(obj)
            else:
                found.update(self._column(_FOCUS[kind].format(t=obj)))
        return found

    def values(self, path: str) -> dict[Term, tuple[Term, ...]]:
        if path not in self._paths:
            pairs: dict[Term, list[Term]] = {}
            for row in self.store.query(f"SELECT DISTINCT ?f ?v WHERE {{ ?f {path} ?v }}"):  # type: ignore[union-attr]
                pairs.setdefault(row[0], []).append(self.unmap(row[1]))
            self._paths[path] = {f: tuple(vs) for f, vs in pairs.items()}
        return self._paths[path]

    def instances(self, cls: str) -> frozenset[Term]:
        if cls not in self._classes:
            query = f"SELECT DISTINCT ?x WHERE {{ ?x a/{_SUBCLASS}* <{cls}> }}"
            self._classes[cls] = frozenset(self._column(query))
        return self._classes[cls]


@lru_cache(maxsize=65536)
def _rdflib(v: Literal) -> RdfLiteral:
    if v.language:
        return RdfLiteral(v.value, lang=v.language)
    if v.datatype.value == _STRINGISH:
        return RdfLiteral(v.value)
    return RdfLiteral(v.value, datatype=URIRef(v.datatype.value))


def _text(v: Term) -> str:
    """str() of the rdflib term pySHACL reports (rdflib's canonical form of a typed literal)."""
    if isinstance(v, Literal) and not v.language and v.datatype.value != _STRINGISH:
        return str(_rdflib(v))
    return v.value


def _has_value(term: Term, rdf: RdfNode) -> Callable[[tuple[Term, ...]], bool]:
    if isinstance(term, Literal):
        return lambda vs: any(isinstance(v, Literal) and _rdflib(v) == rdf for v in vs)
    return lambda vs: term in vs


_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    str(XSD.string): (str, bytes),
    str(RDF.langString): (str, bytes),
    str(XSD.integer): int,
    str(XSD.float): float,
    str(XSD.decimal): Decimal,
    str(XSD.boolean): bool,
}


def _datatype_ok(v: Term, rule: str) -> bool:
    """pySHACL's DatatypeConstraintComponent on one value node."""
    if not isinstance(v, Literal):
        return False
    if rule == _LANG_STRING and v.language:
        return True  # rdflib's value of a language-tagged literal is a str
    lit = _rdflib(v)
    actual = _PYTHON_TYPES.get(rule)
    matches = actual is None or isinstance(lit.value, actual)
    if lit.datatype is not None and str(lit.datatype) == rule:
        return lit.ill_typed is not True and matches
    if rule == str(RDFS.Literal) or (rule == str(RDFS.Datatype) and lit.datatype):
        return True
    if lit.datatype is None and lit.language is None and rule == str(XSD.string):
        return matches
    return rule == _LANG_STRING and bool(lit.language) and matches


def _greater(v: Term, minimum: RdfLiteral) -> bool:
    """pySHACL's MinExclusiveConstraintComponent (with its compare_literal) on one value."""
    if not isinstance(v, Literal):
        return False
    lit = _rdflib(v)
    if isinstance(minimum.value, str) != isinstance(lit.value, str):
        return False
    try:
        if lit.eq(minimum):
            return False
        if isinstance(lit.value, datetime.datetime | datetime.time):
            return bool(lit.value > minimum.value)
        return bool(lit > minimum)
    except (TypeError, NotImplementedError):
        return False


def _test(data: _Data, c: Constraint, pool: set[Term]) -> Callable[[Term], bool]:
    """Whether a value node passes a value-level constraint."""
    name, arg = c.component, c.args[0]
    if name == "ClassConstraintComponent":
        return data.instances(arg).__contains__
    if name == "InConstraintComponent":  # literals compare as rdflib terms, as in pySHACL
        literals = c.args[1]
        return lambda v: _rdflib(v) in literals if isinstance(v, Literal) else v in arg
    if name == "NodeKindConstraintComponent":
        return lambda v: isinstance(v, arg)
    if name == "PatternConstraintComponent":
        return lambda v: not isinstance(v, BlankNode) and arg.search(_text(v)) is not None
    if name == "MinLengthConstraintComponent":
        return lambda v: arg == 0 or (not isinstance(v, BlankNode) and len(_text(v)) >= arg)
    if name == "DatatypeConstraintComponent":
        return lambda v: _datatype_ok(v, arg)
    if name == "MinExclusiveConstraintComponent":
        return lambda v: _greater(v, arg)
    ok: set[Term] = set()  # sh:or: conformance to any member, checked in bulk
    remaining = set(pool)
    for member in arg:
        if member.allowed:  # allow_warnings: such a member conforms whatever it finds
            return lambda v: True
        failing = {f for _, _, f, _ in _failures(data, member, remaining)}
        ok |= remaining - failing
        remaining &= failing
    return ok.__contains__


def _failures(
    data: _Data, shape: Shape, focus: Iterable[Term]
) -> Iterator[tuple[Shape, Constraint, Term, Term | None]]:
    pairs = None if shape.path is None else data.values(shape.path)
    values: Values = {f: (f,) if pairs is None else pairs.get(f, ()) for f in focus}
    for c in shape.constraints:
        name, arg = c.component, c.args[0]
        if name == "MinCountConstraintComponent":
            yield from ((shape, c, f, None) for f, vs in values.items() if len(vs) < arg)
        elif name == "MaxCountConstraintComponent":
            yield from ((shape, c, f, None) for f, vs in values.items() if len(vs) > arg)
        elif name == "HasValueConstraintComponent":
            has = _has_value(arg, c.args[1])
            yield from ((shape, c, f, None) for f, vs in values.items() if not has(vs))
        else:
            passes = _test(data, c, {v for vs in values.values() for v in vs})
            yield from ((shape, c, f, v) for f, vs in values.items() for v in vs if not passes(v))
    for prop in shape.properties:
        yield from _failures(data, prop, values)


def run_core(
    store: Store, compiled: list[Targeted], unmap: Callable[[Term], Term] = lambda t: t
) -> list[RawResult]:
    """Every validation result of the compiled shapes, as pySHACL would report it."""
    data = _Data(store, unmap)
    results: list[RawResult] = []
    for targeted in compiled:
        focus = sorted(data.focus(targeted.targets), key=str)
        for shape, c, f, v in _failures(data, targeted.shape, focus):
            rule = shape.name or str(SH) + c.component
            value = None if v is None else _text(v)
            for message in shape.messages:
                results.append(RawResult(rule, shape.severity, _text(f), value, message))
    return results
