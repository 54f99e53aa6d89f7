"""`crampkg publish`: replace a named graph in a store, with the SPARQL 1.1 Graph Store Protocol.

One `PUT {store}?graph={iri}` with `dist/graph.nt` replaces the graph. Afterwards a
`SELECT (COUNT(*) ...)` on the query endpoint checks that the store holds exactly the triples of
`graph.nt`.

Full old or full new: the remote graph is never left half-written because the store applies a
PUT as one transaction: it parses the whole body before the replacement becomes visible, and
drops it if the body is cut short or invalid. For Oxigraph 0.5 this is tested, not assumed
(tests/test_publish_faults.py: a connection closed mid-upload, a body invalid half-way and a
reader during a slow upload all see the previous graph); Fuseki (TDB2) and GraphDB run each
request in a write transaction too. crampkg adds no second mechanism (a staging graph swapped
in by a SPARQL `COPY` would need the update endpoint and rests on the same transactions).

Transient failures (refused or broken connections, timeouts, 429 and 5xx) are retried with
exponential backoff, honouring `Retry-After`; a PUT is idempotent, so retrying it is safe, also
when the store applied an upload whose answer was lost. The wait is bounded: at most
`retries + 1` attempts of `timeout` seconds each (to connect, and between two reads of the
answer) plus the backoff sleeps, each capped at MAX_WAIT. Other 4xx answers stop at once with
the store's message.
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
from urllib3.exceptions import NewConnectionError

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
    """Publishing failed; the message says why, for people.

    `transient` marks a failure that retries did not overcome (connections, timeouts, 429,
    5xx), as opposed to an answer that no retry would change (4xx, a wrong count);
    `reached` is False when no attempt got as far as a connection to the store.
    """

    def __init__(self, message: str, transient: bool = False, reached: bool = True):
        super().__init__(message)
        self.transient = transient
        self.reached = reached


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


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it wraps (requests and urllib3 nest them several deep)."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if any(e is f for f in found):
            continue
        found.append(e)
        inner = (getattr(e, "reason", None), e.__cause__, e.__context__, *e.args)
        todo.extend(x for x in inner if isinstance(x, BaseException))
    return found


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the store: no connection was made."""
    return isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(e, NewConnectionError | ConnectionRefusedError) for e in _chain(exc)
    )


def _why(exc: requests.RequestException, timeout: float) -> str:
    """What went wrong with the connection, in words: refused, timed out or cut."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connecting timed out after {timeout:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    chain = _chain(exc)
    if _never_connected(exc):
        os_error = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
        return f"cannot connect ({os_error.strerror if os_error else 'connection refused'})"
    last = chain[-1]
    detail = f"{type(last).__name__}: {last}" if str(last) else type(last).__name__
    return f"the connection was closed before the store answered ({detail[:200]})"


def send(
    session: requests.Session, method: str, url: str, retry: Retry, **kwargs: Any
) -> requests.Response:
    """One HTTP request with retries on transient failures; 2xx or PublishError."""
    attempts = retry.retries + 1
    reached = False
    for attempt in range(1, attempts + 1):
        wait = retry.backoff * 2 ** (attempt - 1)
        try:
            response = session.request(method, url, timeout=retry.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            reached = reached or not _never_connected(exc)
            if attempt == attempts:
                raise PublishError(
                    f"{method} {url} failed after {attempts} attempt(s): "
                    f"{_why(exc, retry.timeout)}",
                    transient=True,
                    reached=reached,
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
                    f"after {attempts} attempt(s){_excerpt(response)}",
                    transient=True,
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
    try:
        send(
            session,
            "PUT",
            endpoints.store,
            retry,
            params={"graph": graph},
            data=data,
            headers={"Content-Type": "application/n-triples"},
        )
    except PublishError as exc:
        if not exc.transient:
            raise
        if not exc.reached:
            raise PublishError(f"{exc}; <{graph}> is unchanged", True, False) from None
        # An attempt may have reached the store with its answer lost: say what is known.
        raise PublishError(
            f"{exc}; <{graph}> is either unchanged or fully replaced by the {expected} new "
            "triples, never partly (the store applies a PUT in one transaction): run publish "
            "again",
            transient=True,
        ) from None
    found = count_triples(session, endpoints.query, graph, retry)
    if found != expected:
        raise PublishError(
            f"the upload was accepted but <{graph}> holds {found} triples, not {expected}; "
            f"check that {endpoints.query} is the query endpoint of the same store"
        )
    return found
