"""The vendored schema.org release as lookup tables (checks: pipeline.markup.schemaorg_check).

The release's Turtle names terms `https://schema.org/X`; the JSON-LD context that
`https://schema.org` resolves to (and our graph) use `http://schema.org/X`. Both are reduced to
the local name `X` here, so the two spellings never meet. Loading takes a fraction of a second
with pyoxigraph and happens once per process.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import NamedNode, RdfFormat, parse

from pipeline.resources import schemaorg_root

if TYPE_CHECKING:
    from pipeline.cache import LoadCache

HTTPS: str = "https://schema.org/"
HTTP: str = "http://schema.org/"
CONTEXT_URL = "https://schema.org"  # what the markup says; resolved to the vendored file
TURTLE = "schemaorg-current-https.ttl"
CONTEXT = "schemaorgcontext.jsonld"
EXAMPLES = "schemaorg-all-examples.txt"
RELEASE_FILES = (TURTLE, CONTEXT, EXAMPLES)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def pinned_version(root: Path | None = None) -> str:
    """The release the build checks against: `vendor/schemaorg/VERSION`."""
    return ((root or schemaorg_root()) / "VERSION").read_text("utf-8").strip()


def release_dir(version: str | None = None, root: Path | None = None) -> Path:
    root = root or schemaorg_root()
    return root / (version or pinned_version(root))


@dataclass(frozen=True)
class Term:
    """A context term: the local name of its property and how a plain string is read."""

    name: str
    coerce: str | None  # "@id" (the string is an IRI), a data type ("Date"), or None (Text)


@dataclass(frozen=True)
class Vocabulary:
    """Tables derived from one release; every name is a schema.org local name."""

    version: str
    classes: frozenset[str]
    datatypes: frozenset[str]
    properties: frozenset[str]
    ancestors: Mapping[str, frozenset[str]]  # class -> itself and every superclass
    domains: Mapping[str, frozenset[str]]
    ranges: Mapping[str, frozenset[str]]
    superseded: Mapping[str, str]  # term -> the term that replaces it
    members: Mapping[str, frozenset[str]]  # enumeration member -> its types
    terms: Mapping[str, Term]  # JSON-LD context terms

    def is_a(self, types: frozenset[str] | set[str], targets: frozenset[str]) -> bool:
        """True when one of `types` is one of `targets` or a subclass of one."""
        return any(self.ancestors.get(t, frozenset({t})) & targets for t in types)

    def term(self, key: str) -> Term:
        """How the context reads a key; undefined keys fall to `@vocab` (schema:key)."""
        return self.terms.get(key) or self.terms.get(sdo_name(key)) or Term(sdo_name(key), None)


def _local(iri: str) -> str | None:
    for ns in (HTTPS, HTTP):
        if iri.startswith(ns):
            return iri[len(ns) :]
    return None


def sdo_name(term: str) -> str:
    """`schema:Person`, `http://schema.org/Person` and `Person` all name `Person`."""
    for prefix in ("schema:", HTTPS, HTTP):
        if term.startswith(prefix):
            return term[len(prefix) :]
    return term


def _closure(parents: Mapping[str, set[str]], start: str) -> frozenset[str]:
    seen, todo = {start}, [start]
    while todo:
        for p in parents.get(todo.pop(), ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return frozenset(seen)


def _load_terms(path: Path) -> dict[str, Term]:
    ctx = json.loads(path.read_text("utf-8"))["@context"]
    prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith(("/", "#"))}

    def expand(value: str) -> str:
        prefix, _, rest = value.partition(":")
        return (
            prefixes[prefix] + rest if prefix in prefixes and not rest.startswith("//") else value
        )

    terms = {}
    for key, spec in ctx.items():
        if not isinstance(spec, dict) or "@id" not in spec:
            continue
        name = _local(expand(spec["@id"]))
        if name is None:
            continue
        coerce = spec.get("@type")
        if isinstance(coerce, str) and coerce != "@id":
            coerce = _local(expand(coerce)) or coerce
        terms[key] = Term(name, coerce)
    return terms


def load_vocabulary(folder: Path) -> Vocabulary:
    """Read a release folder (Turtle with pyoxigraph, the context with json)."""
    classes: set[str] = set()
    props: set[str] = set()
    datatype_roots: set[str] = set()
    parents: dict[str, set[str]] = defaultdict(set)
    domains: dict[str, set[str]] = defaultdict(set)
    ranges: dict[str, set[str]] = defaultdict(set)
    typed: dict[str, set[str]] = defaultdict(set)
    superseded: dict[str, str] = {}
    predicates = {
        _RDF + "type": "type",
        _RDFS + "subClassOf": "sub",
        HTTPS + "domainIncludes": "dom",
        HTTPS + "rangeIncludes": "rng",
        HTTPS + "supersededBy": "sup",
    }
    for quad in parse(path=folder / TURTLE, format=RdfFormat.TURTLE):
        kind = predicates.get(quad.predicate.value)
        s, o = quad.subject, quad.object
        if kind is None or not isinstance(s, NamedNode) or not isinstance(o, NamedNode):
            continue
        subject, obj = _local(s.value), _local(o.value)
        if subject is None:
            continue
        if kind == "type":
            if o.value == _RDFS + "Class":
                classes.add(subject)
            elif o.value == _RDF + "Property":
                props.add(subject)
            elif obj == "DataType":
                datatype_roots.add(subject)
                classes.add(subject)
            elif obj is not None:
                typed[subject].add(obj)
        elif obj is None:
            continue
        elif kind == "sub":
            parents[subject].add(obj)
        elif kind == "dom":
            domains[subject].add(obj)
        elif kind == "rng":
            ranges[subject].add(obj)
        else:
            superseded[subject] = obj
    ancestors = {c: _closure(parents, c) for c in classes}
    datatypes = frozenset(c for c in classes if ancestors[c] & datatype_roots)
    members = {
        m: frozenset(ts & classes) for m, ts in typed.items() if m not in classes and ts & classes
    }
    return Vocabulary(
        version=folder.name,
        classes=frozenset(classes),
        datatypes=datatypes,
        properties=frozenset(props),
        ancestors=ancestors,
        domains={p: frozenset(v) for p, v in domains.items()},
        ranges={p: frozenset(v) for p, v in ranges.items()},
        superseded=superseded,
        members=members,
        terms=_load_terms(folder / CONTEXT),
    )


_LOADED: dict[str, Vocabulary] = {}  # by resolved release folder: loaded once per process


def clear_cache() -> None:
    """Forget loaded releases (after `vocab update` replaced one)."""
    _LOADED.clear()


def vocabulary(folder: Path | None = None) -> Vocabulary:
    """The pinned release (or `folder`), loaded once per process."""
    key = str((folder or release_dir()).resolve())
    found = _LOADED.get(key)
    if found is None:
        found = _LOADED[key] = load_vocabulary(Path(key))
    return found


def cached_vocabulary(cache: LoadCache, folder: Path | None = None) -> Vocabulary:
    """`vocabulary()`, kept between builds in the load cache: parsing the release is most of
    building a small corpus's schema.org files. The entry is keyed by the release's Turtle and
    context and by this module's code, so it is only reused for the very same tables."""
    key_folder = (folder or release_dir()).resolve()
    content = b"\0".join(
        [Path(__file__).read_bytes()] + [(key_folder / f).read_bytes() for f in (TURTLE, CONTEXT)]
    )
    name = f"schemaorg-vocabulary:{key_folder.name}"
    loaded = _LOADED.get(str(key_folder))
    if loaded is not None:
        key = cache.key(name, content)
        if not cache.keep(key):  # loaded by this process: the entry is kept, or written
            cache.put(key, loaded)
        return loaded
    found: Vocabulary = cache.remember(name, content, lambda: load_vocabulary(key_folder))
    _LOADED[str(key_folder)] = found
    return found


def context_document(folder: Path | None = None) -> dict[str, Any]:
    """The vendored JSON-LD context, for processors that must never fetch it."""
    data: dict[str, Any] = json.loads((folder or release_dir()).joinpath(CONTEXT).read_text())
    return data
