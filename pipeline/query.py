"""`crampkg query`: SPARQL 1.1 over the built graph (`dist/graph.nt`) with pyoxigraph.

A pyoxigraph query cannot be interrupted from another Python thread, so the graph is loaded and
the query evaluated in a child process that is killed when the deadline passes. The child sends
back the results already serialized: standard SPARQL results (JSON, CSV, TSV), or a plain text
table for people. CONSTRUCT and DESCRIBE results are always written as sorted N-Triples.

Nothing is fetched. A query with `SERVICE` is refused before it runs (pyoxigraph would call the
endpoint it names; see `pipeline.sparqlguard`), and on Linux the child cannot open a network
connection at all (`pipeline.nonet`). `FROM <iri>` and `FROM NAMED <iri>` are allowed: they
only choose graphs of the local store by name (the built graph is the default graph, so a
`FROM` query sees an empty graph), and never dereference the IRI.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.vocab import DEFAULT_BASE, PREFIXES

FORMATS = ("table", "csv", "tsv", "json")
if TYPE_CHECKING:
    from pyoxigraph import Store

_LOCAL_NAME = re.compile(r"[A-Za-z_][\w-]*")
_SYNTAX_AT = re.compile(r"error at (\d+):(\d+): ?(.*)", re.DOTALL)


class QueryError(Exception):
    """The query could not be answered; the message says why, for people."""


class QuerySyntaxError(QueryError):
    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line, self.column = line, column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"SPARQL syntax error at {where}{message}")


class QueryTimeout(QueryError):
    pass


class QueryRefused(QueryError):
    """The query asks for something crampkg never does: calling another endpoint."""


SERVICE_REFUSED = (
    "SERVICE (a call to another SPARQL endpoint) is refused{where}: crampkg answers from the "
    "local graph only and never opens a network connection"
)


def check_local(query: str) -> None:
    """Refuse a query that may call another endpoint (SERVICE), wherever it hides."""
    from pipeline.sparqlguard import find_service

    found = find_service(query)
    if found:
        raise QueryRefused(SERVICE_REFUSED.format(where=f" (line {found[0]}, column {found[1]})"))


@dataclass(frozen=True)
class QueryResult:
    data: bytes  # what to write to stdout
    rows: int | None  # solutions of a SELECT, triples of a CONSTRUCT; None for ASK


def read_query(text_or_file: str) -> str:
    """The argument is a file when one exists at that path (e.g. `queries/x.rq`), else a query."""
    path = Path(text_or_file)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a long query text is not a valid file name
        is_file = False
    if is_file:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read {path}: {exc}") from None
    if text_or_file.endswith(".rq"):
        raise QueryError(f"no such query file: {path}")
    return text_or_file


def dataset_base(dist: Path) -> str:
    """The base IRI the graph was minted under, from `manifest.json` (default when absent)."""
    try:
        manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
        base = manifest.get("dataset", {}).get("base")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_BASE
    return base if isinstance(base, str) and base else DEFAULT_BASE


def graph_file(dist: Path) -> Path:
    nt = dist / "graph.nt"
    if not nt.is_file():
        raise QueryError(f"{nt} not found: run `crampkg build` first (or pass --dist)")
    return nt


def run_query(
    dist: Path, query: str, fmt: str = "table", timeout: float | None = 60.0
) -> QueryResult:
    """Evaluate `query` on `dist/graph.nt` in a child process killed after `timeout` seconds."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    check_local(query)
    request = {"nt": str(graph_file(dist)), "query": query, "fmt": fmt, "base": dataset_base(dist)}
    # A fresh interpreter rather than multiprocessing: nothing of the parent's __main__ is
    # re-imported, so it works the same from the CLI, from pytest and from a notebook.
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", "from pipeline.query import child_main; child_main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        out, err = child.communicate(
            json.dumps(request).encode("utf-8"),
            timeout=timeout if timeout and timeout > 0 else None,
        )
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise QueryTimeout(
            f"the query did not finish within {timeout:g} s and was stopped "
            "(raise --timeout, or narrow the query)"
        ) from None
    except BaseException:  # Ctrl+C: never leave the child running
        child.kill()
        child.communicate()
        raise
    header, _, data = out.partition(b"\n")
    try:
        status = json.loads(header)
    except ValueError:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise QueryError(
            f"the query process failed (exit code {child.returncode}): {tail[0]}"
        ) from None
    if status["kind"] == "ok":
        return QueryResult(data, status["rows"])
    if status["kind"] == "syntax":
        raise _syntax_error(status["message"])
    if status["kind"] == "network":  # only when the check above missed: the sandbox held
        raise QueryRefused(SERVICE_REFUSED.format(where="") + f" ({status['message']})")
    raise QueryError(status["message"])


def _syntax_error(text: str) -> QuerySyntaxError:
    found = _SYNTAX_AT.match(text)
    if found:
        return QuerySyntaxError(found.group(3).strip(), int(found.group(1)), int(found.group(2)))
    return QuerySyntaxError(text)


def child_main() -> None:
    """The child process: read the request on stdin, answer with a JSON status line + data."""
    from pipeline.nonet import deny_network

    deny_network()  # before pyoxigraph is loaded: the engine can reach no network
    request = json.loads(sys.stdin.buffer.read())
    data, status = b"", {}
    try:
        data, rows = _answer(request["nt"], request["query"], request["fmt"], request["base"])
        status = {"kind": "ok", "rows": rows}
    except _NetworkDenied as exc:
        status = {"kind": "network", "message": str(exc.__cause__)}
    except SyntaxError as exc:
        status = {"kind": "syntax", "message": str(exc)}
    except Exception as exc:  # reported to the parent, which decides how to show it
        status = {"kind": "error", "message": f"{type(exc).__name__}: {exc}"}
    sys.stdout.buffer.write(json.dumps(status).encode("utf-8") + b"\n" + data)
    sys.stdout.buffer.flush()


def _answer(nt: str, query: str, fmt: str, base: str) -> tuple[bytes, int | None]:
    from pyoxigraph import RdfFormat, Store

    store = Store()
    store.bulk_load(path=nt, format=RdfFormat.N_TRIPLES)
    try:
        return _evaluate(store, query, fmt, base)
    except PermissionError as exc:  # EACCES from the sandbox: the engine tried to connect
        raise _NetworkDenied from exc


class _NetworkDenied(Exception):
    pass


def _evaluate(store: Store, query: str, fmt: str, base: str) -> tuple[bytes, int | None]:
    from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat

    # The prefixes of docs/model.md are predeclared and relative IRIs resolve against the
    # dataset base, so `<entity/heat-cramps>` works on the command line.
    result = store.query(query, base_iri=base, prefixes=dict(PREFIXES))
    standard = {
        "json": QueryResultsFormat.JSON,
        "csv": QueryResultsFormat.CSV,
        "tsv": QueryResultsFormat.TSV,
    }
    if isinstance(result, QueryBoolean):
        if fmt == "table":
            return (b"true\n" if bool(result) else b"false\n"), None
        return _bytes(result.serialize(format=standard[fmt])), None
    if isinstance(result, QuerySolutions):
        if fmt == "table":
            names = [v.value for v in result.variables]
            rows = [[_show(s[name], base) for name in names] for s in result]
            return table(names, rows).encode("utf-8"), len(rows)
        data = _bytes(result.serialize(format=standard[fmt]))
        return data, _count_rows(data, fmt)
    lines = _bytes(result.serialize(format=RdfFormat.N_TRIPLES)).splitlines(keepends=True)
    return b"".join(sorted(set(lines))), len(set(lines))


def _bytes(data: bytes | None) -> bytes:
    assert data is not None  # pyoxigraph returns None only when given an output stream
    return data


def _count_rows(data: bytes, fmt: str) -> int:
    if fmt == "json":
        bindings: list[object] = json.loads(data)["results"]["bindings"]
        return len(bindings)
    if fmt == "tsv":  # line breaks inside values are escaped: one line per row after the header
        return max(len(data.splitlines()) - 1, 0)
    # CSV values with line breaks are quoted: count records, not lines
    return max(sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1, 0)


def _show(term: object, base: str) -> str:
    """A term as people read it: prefixed names, IRIs relative to the dataset base, plain text."""
    from pyoxigraph import BlankNode, Literal, NamedNode

    if term is None:
        return ""
    if isinstance(term, NamedNode):
        iri = term.value
        for prefix, namespace in PREFIXES.items():
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and _LOCAL_NAME.fullmatch(local):
                return f"{prefix}:{local}"
        if iri.startswith(base):  # after the prefixes: the ontology namespace is under the base
            return f"<{iri[len(base) :]}>"
        return f"<{iri}>"
    if isinstance(term, Literal):
        return term.value
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return str(term)


def table(names: list[str], rows: list[list[str]]) -> str:
    """A plain text table with one header line and aligned columns; no cell is cut."""
    if not names:
        return f"({len(rows)} row{'s' if len(rows) != 1 else ''}, no variables)\n"
    cells = [[" ".join(c.split()) if "\n" in c else c for c in row] for row in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    out = [line(names), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "".join(out)
