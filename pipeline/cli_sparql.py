"""`crampkg query`, `crampkg serve` and `crampkg publish`: SPARQL over the built graph.

Registered by pipeline.cli (`register(sub)`); like the rest of the CLI, this module prints and
chooses the exit code: 0 success, 2 the command could not do its work (no build in --dist, bad
query, timeout, server or store unreachable or refusing).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2
PASSWORD_ENV, TOKEN_ENV = "CRAMPKG_PASSWORD", "CRAMPKG_TOKEN"
DEFAULT_MAX_BODY = 1 << 20  # pipeline.serveproxy.DEFAULT_MAX_BODY, without importing it here


def _say(message: str) -> None:
    print(f"crampkg: {message}", file=sys.stderr)


def cmd_query(args: argparse.Namespace) -> int:
    from pipeline.query import QueryError, read_query, run_query

    try:
        result = run_query(Path(args.dist), read_query(args.query), args.format, args.timeout)
    except QueryError as exc:
        _say(str(exc))
        return EXIT_USAGE
    sys.stdout.buffer.write(result.data)
    sys.stdout.flush()
    if result.rows is not None:
        _say(f"{result.rows} result{'s' if result.rows != 1 else ''}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.serve import ServeError, serve

    try:
        return serve(
            Path(args.dist), args.host, args.port, args.timeout, _say, max_body=args.max_body
        )
    except ServeError as exc:
        _say(str(exc))
        return EXIT_USAGE


def cmd_publish(args: argparse.Namespace) -> int:
    import requests

    from pipeline.publish import PublishError, Retry, default_graph, derive_endpoints, publish

    password = args.password or os.environ.get(PASSWORD_ENV)
    token = args.token or os.environ.get(TOKEN_ENV)
    if args.user and args.token:
        _say("give either --user/--password or --token, not both")
        return EXIT_USAGE
    if args.user and not password:
        _say(f"--user needs --password (or the {PASSWORD_ENV} environment variable)")
        return EXIT_USAGE
    dist = Path(args.dist)
    graph = args.graph or default_graph(dist)
    try:
        endpoints = derive_endpoints(args.endpoint, args.query_endpoint)
        with requests.Session() as session:
            if args.user:
                session.auth = (args.user, password or "")
            elif token:
                session.headers["Authorization"] = f"Bearer {token}"
            retry = Retry(args.retries, args.backoff, args.timeout)
            count = publish(dist, endpoints, graph, session, retry)
    except PublishError as exc:
        _say(f"publishing failed: {exc}")
        return EXIT_USAGE
    _say(f"published {count} triples to <{graph}> at {endpoints.store} (checked: {count})")
    return EXIT_OK


def _positive(kind: type[int] | type[float], minimum: float) -> object:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}")
        return value

    return parse


def _byte_size(text: str) -> int:
    """`1048576`, `64K` or `4M` (binary multiples), at least 1 byte."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    number, unit = text.strip().upper().rstrip("IB"), ""
    if number[-1:] in ("K", "M", "G"):
        number, unit = number[:-1], number[-1]
    if not number.isascii() or not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(f"not a size in bytes (e.g. 1048576, 64K, 4M): {text!r}")
    return int(number) * units[unit]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `query`, `serve` and `publish` subcommands to the CLI's subparsers."""

    def dist(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--dist",
            default="dist",
            metavar="DIR",
            help="the build folder holding graph.nt (default: dist)",
        )

    q = sub.add_parser(
        "query",
        help="run a SPARQL 1.1 query on the built graph",
        description="Run a SPARQL 1.1 query on DIR/graph.nt with pyoxigraph, in a child process "
        "that is stopped at the --timeout. The prefixes of docs/model.md (ck:, schema:, skos:, "
        "prov:, oa:, dcterms:, cito:, bibo:, spdx:, rdf:, rdfs:, owl:, xsd:) are predeclared and "
        "relative IRIs resolve against the dataset base, so <entity/heat-cramps> works. "
        "SELECT and ASK results are written in --format; CONSTRUCT and DESCRIBE results as "
        "sorted N-Triples.",
        epilog="Examples: crampkg query queries/contested-relations.rq; "
        "crampkg query --format csv 'SELECT ?c WHERE { ?c a ck:Condition }'. "
        "The competency questions in queries/ are listed in docs/queries.md.",
    )
    q.add_argument("query", metavar="QUERY|FILE", help="a SPARQL query, or a .rq file holding one")
    dist(q)
    q.add_argument(
        "--format",
        choices=("table", "csv", "tsv", "json"),
        default="table",
        help="table: aligned text for people (default); csv, tsv, json: the standard SPARQL "
        "1.1 results formats",
    )
    q.add_argument(
        "--timeout",
        type=_positive(float, 0),
        default=60.0,
        metavar="SECONDS",
        help="stop the query after this many seconds (default: 60; 0: no limit)",
    )
    q.set_defaults(func=cmd_query)

    s = sub.add_parser(
        "serve",
        help="serve the built graph over the SPARQL 1.1 Protocol (read-only)",
        description="Load DIR/graph.nt into a temporary Oxigraph store (removed on exit) and "
        "serve it with `oxigraph serve-read-only` behind a small proxy: SPARQL queries at /query "
        "(GET or POST, results by content negotiation), the Graph Store at /store (read-only), "
        "and Oxigraph's query UI at /. Updates, Graph Store writes, SERVICE (calls to other "
        "endpoints) and request bodies over --max-body are refused; nothing is ever fetched. "
        "Stop with Ctrl+C.",
    )
    dist(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument(
        "--port", type=_positive(int, 1), default=7878, help="port to listen on (default: 7878)"
    )
    s.add_argument(
        "--timeout",
        type=_positive(int, 1),
        default=30,
        metavar="SECONDS",
        help="stop any query after this many seconds (default: 30)",
    )
    s.add_argument(
        "--max-body",
        type=_byte_size,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help="refuse request bodies over this size with 413, e.g. 64K or 4M (default: 1M)",
    )
    s.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "publish",
        help="replace a named graph in a SPARQL store with the built graph",
        description="Upload DIR/graph.nt to a store with the SPARQL 1.1 Graph Store HTTP "
        "Protocol (PUT: the named graph is replaced, not added to), then check with a COUNT "
        "query that the store holds exactly those triples. Works with Oxigraph, Fuseki, "
        "GraphDB and other Graph Store implementations. Connection errors, timeouts, 429 and "
        "5xx answers are retried with exponential backoff (honouring Retry-After).",
        epilog="Examples: crampkg publish --endpoint http://127.0.0.1:7878 (Oxigraph); "
        "crampkg publish --endpoint http://host:3030/ds/data --user admin (Fuseki; password "
        f"from ${PASSWORD_ENV}). Exit codes: 0 published and checked, 2 failed.",
    )
    dist(p)
    p.add_argument(
        "--endpoint",
        required=True,
        metavar="URL",
        help="the Graph Store endpoint (Oxigraph .../store, Fuseki /DATASET/data, GraphDB "
        "/repositories/ID/rdf-graphs/service), or an Oxigraph server root",
    )
    p.add_argument(
        "--query-endpoint",
        metavar="URL",
        help="the SPARQL query endpoint used for the check (default: derived from --endpoint: "
        ".../store -> .../query, /DATASET/data -> /DATASET/query, GraphDB: the repository)",
    )
    p.add_argument(
        "--graph",
        metavar="IRI",
        help="the named graph to replace (default: the dataset base followed by 'graph', "
        "e.g. https://w3id.org/crampkg/graph)",
    )
    p.add_argument("--user", help="user name for HTTP basic authentication")
    p.add_argument("--password", help=f"password for --user (default: the {PASSWORD_ENV} variable)")
    p.add_argument(
        "--token", help=f"bearer token, instead of --user (default: the {TOKEN_ENV} variable)"
    )
    p.add_argument(
        "--timeout",
        type=_positive(float, 0.1),
        default=60.0,
        metavar="SECONDS",
        help="seconds to wait to connect and for each answer (default: 60)",
    )
    p.add_argument(
        "--retries",
        type=_positive(int, 0),
        default=4,
        metavar="N",
        help="retries after a transient failure (default: 4)",
    )
    p.add_argument(
        "--backoff",
        type=_positive(float, 0),
        default=1.0,
        metavar="SECONDS",
        help="wait before the first retry, doubled each time (default: 1)",
    )
    p.set_defaults(func=cmd_publish)
