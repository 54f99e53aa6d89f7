"""Running the shapes compiled by `pipeline.shaclcore` on a pyoxigraph store.

One SPARQL query per target, per distinct property path (all focus/value pairs at once) and per
class (its instances); the values are then checked in Python with pySHACL's rules, on the terms
pySHACL would see through rdflib (see `exact_store`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad, Store
from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node as RdfNode

from pipeline.shaclcore import _LANG_STRING, _STRINGISH, Constraint, Shape, Targeted, Term
from pipeline.sparqlshapes import RawResult

_SURROGATE = "urn:crampkg:lexical:"  # datatype prefix keeping rdflib's lexical form verbatim


def _stored(lit: Literal) -> Literal:
    """The term for a typed literal: rdflib's canonical form, or the original if ill-typed."""
    r = RdfLiteral(lit.value, datatype=URIRef(lit.datatype.value))
    return lit if r.ill_typed else Literal(str(r), datatype=lit.datatype)


def exact_store(triples: Iterable[Any], store: Store) -> tuple[Store, Callable[[Term], Term]]:
    """`store` (changed in place when that is exact) or a copy, whose typed literals are the
    terms pySHACL sees through rdflib.

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

    def unmap(term: Term) -> Term:
        if isinstance(term, Literal) and term.datatype.value.startswith(_SURROGATE):
            return Literal(term.value, datatype=NamedNode(term.datatype.value[len(_SURROGATE) :]))
        return term

    # In place when every typed literal is stored as itself alone: then a lookup by literal
    # finds exactly its own triples, and a catalogue-sized store is not copied. Literals that
    # oxigraph stores alike ("1"^^xsd:double, "1.0"^^xsd:double) need the copy, which keeps
    # each triple's own literal.
    stored = Store()
    stored.extend(Quad(s, p, lit, DefaultGraph()) for lit in typed)
    if len(stored) == len(typed):
        for lit, new in changed.items():
            quads = list(store.quads_for_pattern(None, None, lit, DefaultGraph()))
            for q in quads:
                store.remove(q)
            store.extend(Quad(q.subject, q.predicate, new, DefaultGraph()) for q in quads)
        return store, unmap
    copy = Store()
    copy.extend(
        Quad(t.subject, t.predicate, changed.get(t.object, t.object), DefaultGraph())
        for t in triples
    )
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

    def forget(self, path: str) -> None:
        self._paths.pop(path, None)

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
    store: Store,
    compiled: list[Targeted],
    unmap: Callable[[Term], Term] = lambda t: t,
    owns: Callable[[Term], bool] | None = None,
) -> list[RawResult]:
    """Every validation result of the compiled shapes, as pySHACL would report it; with
    `owns`, only those about the focus nodes it accepts (see pipeline.partition)."""
    data = _Data(store, unmap)
    results: list[RawResult] = []
    last = _last_uses(compiled)
    for i, targeted in enumerate(compiled):
        found = data.focus(targeted.targets)
        focus = sorted(found if owns is None else filter(owns, found), key=str)
        for shape, c, f, v in _failures(data, targeted.shape, focus):
            rule = shape.name or str(SH) + c.component
            value = None if v is None else _text(v)
            for message in shape.messages:
                results.append(RawResult(rule, shape.severity, _text(f), value, message))
        # A path's values (every focus node's, catalogue-wide) are dropped once no later
        # shape reads them: kept to the end they were +78 MB at 1,000 conditions, now +21.
        # A path this walk missed is kept, and a dropped one read again is looked up again.
        for path in last.get(i, ()):
            data.forget(path)
    return results


def _last_uses(compiled: list[Targeted]) -> dict[int, list[str]]:
    """The paths each targeted shape is the last to read, by its index."""
    last: dict[str, int] = {}

    def walk(shape: Shape, i: int) -> None:
        if shape.path is not None:
            last[shape.path] = i
        for c in shape.constraints:  # sh:or's members are shapes among the arguments
            for arg in c.args:
                for member in arg if isinstance(arg, tuple | list) else ():
                    if isinstance(member, Shape):
                        walk(member, i)
        for prop in shape.properties:
            walk(prop, i)

    for i, targeted in enumerate(compiled):
        walk(targeted.shape, i)
    by_index: dict[int, list[str]] = {}
    for path, i in sorted(last.items()):
        by_index.setdefault(i, []).append(path)
    return by_index
