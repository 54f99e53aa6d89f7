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

import re
from dataclasses import dataclass
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node as RdfNode

from pipeline.report import Severity

Term = NamedNode | BlankNode | Literal
_SEVERITY: dict[RdfNode | None, Severity] = {
    SH.Violation: Severity.VIOLATION,
    SH.Warning: Severity.WARNING,
    SH.Info: Severity.INFO,
}
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
_KINDS: dict[RdfNode, tuple[type, ...]] = {
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
    options = tuple(_shape(g, m, nested=True) for m in Collection(g, value))  # sh:or
    if not options or any(m.path is not None or m.properties for m in options):
        raise Unsupported("sh:or member that is empty or has property shapes")
    return Constraint(name, (options,))


def _shape(g: Graph, node: RdfNode, nested: bool = False, has_path: bool = False) -> Shape:
    if (node, SH.deactivated, None) in g:
        raise Unsupported(f"sh:deactivated on {node}")
    if any((node, RDF.type, c) in g for c in (RDFS.Class, OWL.Class)):
        raise Unsupported(f"implicit class target on {node}")
    constraints: list[Constraint] = []
    for pred in sorted(set(g.predicates(node, None)), key=str):
        if not str(pred).startswith(str(SH)) or pred in _INERT:
            continue
        if pred not in _SINGLE and pred not in _MULTI:
            raise Unsupported(f"{pred} on {node}")
        values = sorted(g.objects(node, pred), key=str)
        if pred in _SINGLE and len(values) > 1:
            raise Unsupported(f"{len(values)} values of {pred} on {node}")
        constraints.extend(_constraint(g, node, URIRef(str(pred)), v) for v in values)
    path_node = _one(g, node, SH.path)
    properties = tuple(
        _shape(g, p, has_path=True) for p in sorted(g.objects(node, SH.property), key=str)
    )
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
        severity=_SEVERITY.get(severity_node, Severity.VIOLATION),
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
    for node in sorted({s for p in _TARGETS for s in shapes.subjects(p, None)}, key=str):
        try:
            targets = tuple(
                (str(p).rsplit("#", 1)[-1], _ox(o))
                for p in _TARGETS
                for o in sorted(shapes.objects(node, p), key=str)
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
