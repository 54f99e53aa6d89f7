"""Checks of a markup document against the vendored schema.org vocabulary.

The published SHACL shapes of schema.org 30.0 reject every text literal (a known bug), so the
checks are our own, read straight off the vocabulary: every type and property exists and is not
superseded (`schema:supersededBy`), properties are used within their `domainIncludes` and values
are of a type in their `rangeIncludes` (both with subclasses). A plain JSON string is Text,
unless the context coerces the property to an IRI (URL) or a date.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pipeline.markup.schemaorg_vocab import CONTEXT_URL, Vocabulary, sdo_name


@dataclass(frozen=True)
class Issue:
    """One problem in a markup document: a stable rule name, a JSON path and a message."""

    rule: str
    path: str
    message: str


_KEYWORDS = {"@context", "@type", "@id"}
_ALIASES = {"type": "@type", "id": "@id"}  # defined by the schema.org context


def check_markup(doc: Mapping[str, Any], vocab: Vocabulary) -> list[Issue]:
    """Every type and property exists and is current, properties are used within their
    domain, and every value is of a type in their range. Empty list: the document is valid."""
    checker = _Checker(vocab)
    if doc.get("@context") != CONTEXT_URL:
        checker.add("markup-context", "$", f"@context must be {CONTEXT_URL!r}")
    graph = doc.get("@graph")
    if isinstance(graph, list):  # several top-level nodes sharing the context
        for i, node in enumerate(graph):
            if isinstance(node, dict):
                checker.node(node, f"$.@graph[{i}]")
            else:
                checker.add("markup-bad-value", f"$.@graph[{i}]", "a top-level value is no node")
    else:
        checker.node(doc, "$", root=True)
    return checker.issues


class _Checker:
    def __init__(self, vocab: Vocabulary):
        self.v = vocab
        self.issues: list[Issue] = []

    def add(self, rule: str, path: str, message: str) -> None:
        self.issues.append(Issue(rule, path, message))

    def node(self, node: Mapping[str, Any], path: str, root: bool = False) -> frozenset[str]:
        """Check a typed node; returns its known types."""
        node = {_ALIASES.get(k, k): v for k, v in node.items()}
        raw = node.get("@type")
        names = raw if isinstance(raw, list) else [raw] if raw is not None else []
        names = [sdo_name(t) if isinstance(t, str) else t for t in names]
        types: set[str] = set()
        if not names:
            self.add("markup-untyped-node", path, "a node without @type")
        for t in names:
            if not isinstance(t, str) or t not in self.v.classes or t in self.v.datatypes:
                self.add("markup-unknown-type", path, f"{t!r} is not a schema.org type")
            elif t in self.v.superseded:
                self.add(
                    "markup-superseded-type",
                    path,
                    f"type {t!r} is superseded by {self.v.superseded[t]!r}",
                )
            else:
                types.add(t)
        if "@id" in node and not _absolute_url(node["@id"]):
            self.add("markup-bad-id", path, f"@id {node['@id']!r} is not an absolute IRI")
        for key, value in node.items():
            if key in _KEYWORDS:
                if key == "@context" and not root:
                    self.add("markup-context", path, "@context is only allowed at the top")
                continue
            if key.startswith("@"):
                self.add("markup-keyword", f"{path}.{key}", f"unexpected keyword {key!r}")
                continue
            self.property(types, key, value, f"{path}.{key}")
        return frozenset(types)

    def property(self, types: set[str], key: str, value: Any, path: str) -> None:
        term = self.v.term(key)
        name = term.name
        if name not in self.v.properties:
            self.add("markup-unknown-property", path, f"{key!r} is not a schema.org property")
            return
        if name in self.v.superseded:
            self.add(
                "markup-superseded-property",
                path,
                f"property {name!r} is superseded by {self.v.superseded[name]!r}",
            )
        domain = self.v.domains.get(name, frozenset())
        # A Role node carries the property of the relation it qualifies (schema.org/Role).
        role = self.v.is_a(types, frozenset({"Role"}))
        if types and not role and not self.v.is_a(types, domain):
            self.add(
                "markup-domain",
                path,
                f"{name!r} is not a property of {' or '.join(sorted(types))} "
                f"(its domain: {', '.join(sorted(domain))})",
            )
        values = value if isinstance(value, list) else [value]
        if not values:
            self.add("markup-empty-value", path, f"{name!r} has an empty list")
        for i, item in enumerate(values):
            where = f"{path}[{i}]" if isinstance(value, list) else path
            self.value(name, term.coerce, item, where)

    def value(self, prop: str, coerce: str | None, item: Any, path: str) -> None:
        allowed = self.v.ranges.get(prop, frozenset())
        kind: frozenset[str]
        if isinstance(item, list):
            self.add("markup-nested-list", path, "a list inside a list")
            return
        if isinstance(item, dict):
            if "@value" in item:
                self.literal(prop, item.get("@type"), item["@value"], allowed, path)
                return
            item = {_ALIASES.get(k, k): v for k, v in item.items()}
            if "@type" not in item:
                ref = item.get("@id")
                kind = self.v.members.get(_member(ref) or "", frozenset()) if ref else frozenset()
                if not kind:
                    self.add("markup-untyped-node", path, "a node reference without @type")
                    return
            else:
                kind = self.node(item, path)
            if kind and not self.v.is_a(kind, allowed):
                self.add(
                    "markup-range",
                    path,
                    f"{prop!r} expects {_either(allowed)}, not {' or '.join(sorted(kind))}",
                )
            return
        self.literal(prop, coerce, item, allowed, path)

    def literal(
        self, prop: str, datatype: str | None, item: Any, allowed: frozenset[str], path: str
    ) -> None:
        if isinstance(item, bool):
            kind = "Boolean"
        elif isinstance(item, int):
            kind = "Integer"
        elif isinstance(item, float):
            kind = "Float"
        elif not isinstance(item, str):
            self.add("markup-bad-value", path, f"{item!r} is not a JSON-LD value")
            return
        elif datatype == "@id":
            kind = "URL"
            if not _absolute_url(item):
                self.add("markup-url-format", path, f"{item!r} is not an absolute http(s) URL")
        elif datatype in ("Date", "DateTime"):
            kind = datatype
            if not _iso_date(item, with_time=datatype == "DateTime"):
                self.add("markup-date-format", path, f"{item!r} is not an ISO 8601 {datatype}")
        elif datatype is not None:
            kind = datatype
        else:
            kind = "Text"  # a plain JSON string
            if not item.strip():
                self.add("markup-empty-text", path, f"{prop!r} is empty")
        if not self.v.is_a({kind}, allowed):
            self.add("markup-range", path, f"{prop!r} expects {_either(allowed)}, not {kind}")


def _either(types: frozenset[str]) -> str:
    return " or ".join(sorted(types)) or "nothing (no rangeIncludes)"


def _absolute_url(value: object) -> bool:
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _iso_date(value: str, with_time: bool = False) -> bool:
    """ISO 8601 calendar dates, full (2024-03-03) or reduced (2024-03, 2024)."""
    if with_time:
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    if re.fullmatch(r"[0-9]{4}(-[0-9]{2})?", value):
        return len(value) == 4 or 1 <= int(value[5:]) <= 12
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _member(iri: str) -> str | None:
    """The local name of a schema.org IRI (an enumeration member such as Clinician)."""
    for ns in ("https://schema.org/", "http://schema.org/"):
        if iri.startswith(ns):
            return iri[len(ns) :]
    return None
