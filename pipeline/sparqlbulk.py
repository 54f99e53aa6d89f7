"""SHACL-SPARQL constraints run once over all focus nodes instead of once per focus node.

`pipeline.sparqlshapes` pre-binds `$this` and runs a constraint's query per focus node: at
200,000 claims that is a million queries. Here the query's WHERE group instead starts with a
sub-select of the shape's focus nodes, which binds `$this` before every later pattern, BIND and
FILTER of that group and before every EXISTS (evaluated per solution), so each solution is the
one pre-binding would give. A query where that does not hold - `$this` in a nested group, OPTIONAL
or UNION outside EXISTS, a sub-select, VALUES, MINUS, GRAPH/SERVICE, no projected `$this` - keeps
the per-node path. Results follow `run_constraints` exactly (same filtering, dedup, messages).
"""

from __future__ import annotations

import re

from pyoxigraph import Store

from pipeline.sparqlshapes import RawResult, SparqlConstraint, _format, _text, run_constraints

_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
    r"|[{}]|[$?]this\b|[A-Za-z_]+",
    re.S,
)
_UNSAFE = {"SELECT", "VALUES", "MINUS", "GRAPH", "SERVICE", "FROM", "GROUP", "HAVING", "LIMIT"}


def _target_block(targets: tuple[tuple[str, str], ...]) -> str | None:
    parts = []
    for kind, iri in targets:
        if kind == "targetClass":
            parts.append(f"{{ ?this {_TYPE}/{_SUBCLASS}* <{iri}> }}")
        elif kind == "targetSubjectsOf":
            parts.append(f"{{ ?this <{iri}> ?crampkg_o }}")
        elif kind == "targetObjectsOf":
            parts.append(f"{{ ?crampkg_s <{iri}> ?this }}")
        else:
            return None  # sh:targetNode may name a literal; keep the per-node path
    if not parts:
        return None
    union = " UNION ".join(parts)
    return f"{{ SELECT DISTINCT ?this WHERE {{ {union} FILTER (!isLiteral(?this)) }} }}"


def bulk_query(c: SparqlConstraint) -> str | None:
    """The constraint's query with its focus nodes bound inside it, or None when unsafe."""
    block = _target_block(c.targets)
    tokens = list(_TOKEN.finditer(c.select))
    words = [t.group().upper() for t in tokens if t.group()[0].isalpha()]
    if block is None or words.count("SELECT") != 1 or _UNSAFE & set(words[1:]):
        return None
    where = end = None
    stack: list[str] = []  # the kind of each open block: where, exists, other
    projected = False
    seen: list[str] = []  # the tokens before this one, comments left out
    negations: list[tuple[int, int]] = []  # EXISTS blocks of the WHERE group: {, }
    opened: list[int] = []
    for t in tokens:
        tok = t.group()
        previous = seen[-1].upper() if seen else ""
        if tok == "{":
            if where is None:
                if previous != "WHERE":
                    return None
                where = t.end()
                stack.append("where")
            else:
                stack.append("exists" if previous == "EXISTS" else "other")
            opened.append(t.start())
        elif tok == "}":
            if not stack:
                return None
            kind = stack.pop()
            start = opened.pop()
            if kind == "where":
                end = t.start()
            elif kind == "exists" and stack == ["where"]:
                negations.append((start, t.end()))
        elif tok[1:] == "this":
            if where is None:
                projected = True
            elif stack and stack[-1] != "where" and "exists" not in stack:
                return None
        if not tok.startswith("#"):
            seen.append(tok)
    if where is None or end is None or stack or not projected:
        return None
    text = c.select
    minus = []
    for start, stop in reversed(negations):  # from the end, so earlier offsets stay valid
        negation = _NOT_EXISTS.search(text[:start].rstrip())
        if negation is None or not _anti_join_safe(text[start:stop], text[:start] + text[stop:]):
            continue
        filter_at = negation.start()
        minus.append(text[start:stop])
        text = text[:filter_at] + text[stop:]
        end -= stop - filter_at
    text = text[:end] + "".join(f" MINUS {m}" for m in reversed(minus)) + " " + text[end:]
    return text[:where] + " " + block + " " + text[where:]


_NOT_EXISTS = re.compile(r"\bFILTER\s+NOT\s+EXISTS$", re.I)
_VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z_0-9]*)")


def _anti_join_safe(pattern: str, rest: str) -> bool:
    """Whether FILTER NOT EXISTS { pattern } may become MINUS { pattern } (same solutions).

    True for plain triple patterns and UNIONs whose variables shared with the rest of the query
    are bound in every solution: `$this`, and variables of the WHERE group's own triple
    patterns. Then "no match once substituted" is "no compatible match", and oxigraph runs the
    anti-join once instead of the pattern once per solution (quadratic at catalogue scale).
    """
    words = {w.upper() for w in re.findall(r"[A-Za-z_]+", _strip(pattern))}
    if words & {"FILTER", "BIND", "OPTIONAL", "EXISTS", "MINUS", "VALUES", "SELECT", "GRAPH"}:
        return False
    shared = set(_VARIABLE.findall(pattern)) & set(_VARIABLE.findall(rest))
    if shared == {"this"}:
        return True
    # Other bound variables: only for a join inside the negation, which oxigraph may start
    # from its unbound end once per solution; a single triple pattern is one index lookup
    # per solution, cheaper than the anti-join's scan of every match.
    return bool(shared) and shared <= _certainly_bound(rest) | {"this"} and _joins(pattern)


def _joins(pattern: str) -> bool:
    """Whether a group pattern has more than one triple pattern (or a sequence path)."""
    body = _strip(pattern).strip().removeprefix("{").removesuffix("}")
    triples = [t for t in re.split(r"\.(?=\s|$)", body) if t.strip()]
    return len(triples) > 1 or "/" in body


def _certainly_bound(query: str) -> set[str]:
    """Variables of the triple patterns written directly in the WHERE group: outside nested
    groups (OPTIONAL, UNION, MINUS, EXISTS, sub-selects) and parentheses (FILTER, BIND), where
    a variable may be unbound. A group's own triple patterns bind theirs in every solution."""
    text = _strip(query)
    m = re.search(r"\bWHERE\s*\{", text, re.I)
    if m is None:
        return set()
    depth, parens, kept = 1, 0, []
    for ch in text[m.end() :]:
        if ch in "{}":
            depth += 1 if ch == "{" else -1
            if depth == 0:
                break
            kept.append(" ")
        elif ch in "()":
            parens += 1 if ch == "(" else -1
            kept.append(" ")
        else:
            kept.append(ch if depth == 1 and parens == 0 else " ")
    return set(_VARIABLE.findall("".join(kept)))


def _strip(text: str) -> str:
    """The text without IRIs, strings and comments (whose words are not keywords)."""
    return _TOKEN.sub(
        lambda m: m.group() if m.group()[0] in "{}?$" or m.group()[0].isalpha() else " ", text
    )


def run_bulk(store: Store, constraints: list[SparqlConstraint]) -> list[RawResult]:
    """What `run_constraints` reports, one query per constraint where that is exact."""
    per_node = [c for c in constraints if bulk_query(c) is None]
    results = run_constraints(store, per_node)
    for c in constraints:
        query = bulk_query(c)
        if query is None:
            continue
        solutions = store.query(query, prefixes=dict(c.prefixes))
        variables = solutions.variables  # type: ignore[union-attr]
        seen: set[tuple[tuple[str, str], ...]] = set()
        for row in solutions:  # type: ignore[union-attr]
            bound = {v.value: _text(row[v]) for v in variables if row[v] is not None}
            if "failure" in bound or "this" not in bound:
                continue
            key = tuple(sorted(bound.items()))
            if key in seen:
                continue
            seen.add(key)
            value = bound.get("value", bound["this"])
            fmt = {**bound, "value": value}
            for message in c.messages or ("",):
                results.append(
                    RawResult(c.shape, c.severity, bound["this"], value, _format(message, fmt))
                )
    return results
