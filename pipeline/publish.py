"""`crampkg publish`: replace a named graph in a store, with the SPARQL 1.1 Graph Store Protocol.

One `PUT {store}?graph={iri}` with `dist/graph.nt` replaces the graph: the store applies it as
one operation (Oxigraph, Fuseki and GraphDB do), so a failed upload leaves the previous graph in
place and nothing half-written. Afterwards a `SELECT (COUNT(*) ...)` on the query endpoint checks
that the store holds exactly the triples of `graph.nt`.

Transient failures (connection errors, timeouts, 429 and 5xx) are retried with exponential
backoff, honouring `Retry-After`; a PUT is idempotent, so retrying it is safe. Other 4xx answers
stop at once with the store's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from pipeline.fetch.http import retry_after as parse_retry_after
from pipeline.query import dataset_base

MAX_WAIT = 120.0  # never sleep longer than this between attempts, whatever Retry-After says
_HINTS = {
    401: "the store wants credentials: pass --user and --password, or --token",
    403: "the credentials are not allowed to write (or the store is read-only)",
    404: "no such endpoint: check --endpoint (and --query-endpoint)",
    405: "the endpoint does not accept this method: is it the Graph Store endpoint?",
    413: "the store refuses a body this large",
    415: "the store does not accept N-Triples at this endpoint",
}


class PublishError(Exception):
    """Publishing failed; the message says why, for people."""


@dataclass(frozen=True)
class Endpoints:
    store: str  # SPARQL 1.1 Graph Store HTTP Protocol endpoint
    query: str  # SPARQL 1.1 Protocol query endpoint


@dataclass(frozen=True)
class Retry:
    retries: int = 4  # attempts after the first
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    timeout: float = 60.0  # seconds to connect and to wait for each answer
    sleep: Callable[[float], None] = time.sleep


def derive_endpoints(endpoint: str, query_endpoint: str | None = None) -> Endpoints:
    """The Graph Store and query endpoints from `--endpoint` (and `--query-endpoint`).

    A server root (`http://host:7878`) is taken as Oxigraph: `/store` and `/query`. Otherwise
    `--endpoint` is the Graph Store endpoint and the query endpoint is derived from the usual
    layouts: Oxigraph `.../store` -> `.../query`, Fuseki `/ds/data` -> `/ds/query`, GraphDB
    `/repositories/r/rdf-graphs/service` -> `/repositories/r`.
    """
    for url in (endpoint, query_endpoint):
        if url is not None and (
            urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc
        ):
            raise PublishError(f"not an http(s) URL: {url!r}")
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")

    def at(new_path: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, new_path, "", ""))

    if not path:
        return Endpoints(at("/store"), query_endpoint or at("/query"))
    if query_endpoint:
        return Endpoints(endpoint, query_endpoint)
    for suffix, replacement in (
        ("/store", "/query"),
        ("/data", "/query"),
        ("/rdf-graphs/service", ""),
    ):
        if path.endswith(suffix):
            return Endpoints(endpoint, at(path[: -len(suffix)] + replacement))
    raise PublishError(
        f"cannot tell the query endpoint of {endpoint}; pass --query-endpoint "
        "(needed to check the triple count after the upload)"
    )


def retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), if any."""
    return parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))


def _excerpt(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return f": {text[:300]}" if text else ""


def send(
    session: requests.Session, method: str, url: str, retry: Retry, **kwargs: Any
) -> requests.Response:
    """One HTTP request with retries on transient failures; 2xx or PublishError."""
    attempts = retry.retries + 1
    for attempt in range(1, attempts + 1):
        wait = retry.backoff * 2 ** (attempt - 1)
        try:
            response = session.request(method, url, timeout=retry.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == attempts:
                reason = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                raise PublishError(
                    f"cannot reach {url} ({reason} after {attempts} attempt(s)): "
                    f"{type(exc).__name__}"
                ) from None
        else:
            code = response.status_code
            if code < 300:
                return response
            if code != 429 and code < 500:
                hint = _HINTS.get(code, "the store refused the request")
                raise PublishError(
                    f"{method} {url} failed with HTTP {code} {response.reason}; {hint}"
                    f"{_excerpt(response)}"
                )
            if attempt == attempts:
                raise PublishError(
                    f"{method} {url} failed with HTTP {code} {response.reason} "
                    f"after {attempts} attempt(s){_excerpt(response)}"
                )
            wait = retry_after(response) or wait
        retry.sleep(min(wait, MAX_WAIT))
    raise AssertionError("unreachable")  # pragma: no cover


def count_triples(session: requests.Session, query_endpoint: str, graph: str, retry: Retry) -> int:
    """`SELECT (COUNT(*) AS ?n)` over the named graph, through the SPARQL 1.1 Protocol."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    response = send(
        session,
        "POST",
        query_endpoint,
        retry,
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    try:
        return int(response.json()["results"]["bindings"][0]["n"]["value"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise PublishError(
            f"{query_endpoint} did not answer the COUNT query with SPARQL JSON results"
            f"{_excerpt(response)}"
        ) from None


def ntriples_count(data: bytes) -> int:
    """Triples in an N-Triples document: one per line that is not blank or a comment."""
    return sum(
        1 for line in data.splitlines() if line.strip() and not line.lstrip().startswith(b"#")
    )


def default_graph(dist: Path) -> str:
    """The graph name used when none is given: `{base}graph` of the built dataset."""
    return f"{dataset_base(dist)}graph"


def publish(
    dist: Path,
    endpoints: Endpoints,
    graph: str,
    session: requests.Session,
    retry: Retry = Retry(),
) -> int:
    """Replace `graph` at the store by `dist/graph.nt`, check the count; returns the count."""
    nt = dist / "graph.nt"
    try:
        data = nt.read_bytes()
    except OSError as exc:
        raise PublishError(
            f"cannot read {nt}: {exc.strerror or exc}; run `crampkg build` first"
        ) from None
    expected = ntriples_count(data)
    send(
        session,
        "PUT",
        endpoints.store,
        retry,
        params={"graph": graph},
        data=data,
        headers={"Content-Type": "application/n-triples"},
    )
    found = count_triples(session, endpoints.query, graph, retry)
    if found != expected:
        raise PublishError(
            f"the upload was accepted but <{graph}> holds {found} triples, not {expected}; "
            f"check that {endpoints.query} is the query endpoint of the same store"
        )
    return found
