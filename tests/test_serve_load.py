"""Issue 9, case 9: `crampkg serve` under load, and what it refuses.

A real `python -m pipeline serve` on a free loopback port over the corpus build (query timeout
2 s, the default 1 MiB body cap). 200 clients start together on a barrier and send 400 queries
(GET, POST form and POST body; JSON and CSV), each checked against an answer computed apart
from the server: counts read from the lines of graph.nt, rows from pyoxigraph on graph.nt.
Then: updates, Graph Store writes, SERVICE (in every form Oxigraph would execute, pointed at a
recording listener that must see no connection), bodies and URLs over the caps, each refused
with a readable reason while the server goes on answering; and an expensive query cut off by
the timeout while a load loop keeps getting correct answers; and remote dataset names (FROM,
FROM NAMED, default-graph-uri, named-graph-uri) answered from the local store, fetching nothing.
"""

from __future__ import annotations

import csv
import io
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pyoxigraph import QueryResultsFormat, QuerySolutions, RdfFormat, Store

from tests.listener import RecordingListener
from tests.test_query import build_corpus
from tests.test_serve import EXPENSIVE, JSON, TIMEOUT_S, Served, start_serve
from tests.test_sparql_guard import CASES, CONNECTS, fill

CLIENTS, PER_CLIENT = 200, 2
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Probe:
    how: str  # get, form or body
    accept: str
    query: str
    expected: str  # normalised answer, see `normalise`


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_corpus(out, ["ntriples"])
    return out


@pytest.fixture(scope="module")
def server(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_serve(dist, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def listener() -> Iterator[RecordingListener]:
    served = RecordingListener()
    yield served
    served.close()


def normalise(data: bytes, accept: str) -> str:
    """One string per answer: the count, the boolean, or the sorted JSON rows."""
    if accept == "text/csv":
        return next(csv.DictReader(io.StringIO(data.decode("utf-8"))))["n"]
    doc = json.loads(data)
    if "boolean" in doc:
        return str(doc["boolean"])
    rows = doc["results"]["bindings"]
    if doc["head"]["vars"] == ["n"]:
        return str(rows[0]["n"]["value"])
    return json.dumps(sorted(json.dumps(r, sort_keys=True) for r in rows))


@pytest.fixture(scope="module")
def probes(dist: Path) -> list[Probe]:
    """Counts per predicate from the text of graph.nt; rows per subject from pyoxigraph."""
    lines = (dist / "graph.nt").read_text(encoding="utf-8").splitlines()
    per_predicate = Counter(line.split(" ", 2)[1] for line in lines)
    subjects = sorted({line.split(" ", 1)[0] for line in lines if line.startswith("<")})
    local = Store()
    local.bulk_load(path=str(dist / "graph.nt"), format=RdfFormat.N_TRIPLES)
    hows, out = ("get", "form", "body"), []
    for i, (predicate, n) in enumerate(sorted(per_predicate.items())):
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s {predicate} ?o }}"
        out.append(Probe(hows[i % 3], (JSON, "text/csv")[i % 2], query, str(n)))
    for i, subject in enumerate(subjects[:: max(1, len(subjects) // 120)]):
        query = f"SELECT ?p ?o WHERE {{ {subject} ?p ?o }}"
        solutions = local.query(query)
        assert isinstance(solutions, QuerySolutions)
        rows = solutions.serialize(format=QueryResultsFormat.JSON)
        assert rows is not None
        out.append(Probe(hows[i % 3], JSON, query, normalise(rows, JSON)))
    first = lines[0].rsplit(" .", 1)[0]
    out.append(Probe("get", JSON, f"ASK {{ {first} }}", "True"))
    out.append(Probe("body", JSON, "ASK { <urn:x:no> <urn:x:such> <urn:x:triple> }", "False"))
    return out


def ask(server: Served, probe: Probe, timeout: float = 30) -> requests.Response:
    url, headers = f"{server.url}/query", {"Accept": probe.accept}
    if probe.how == "get":
        return requests.get(url, params={"query": probe.query}, headers=headers, timeout=timeout)
    if probe.how == "form":
        return requests.post(url, data={"query": probe.query}, headers=headers, timeout=timeout)
    headers["Content-Type"] = "application/sparql-query"
    return requests.post(url, data=probe.query.encode(), headers=headers, timeout=timeout)


def check(server: Served, probe: Probe) -> str | None:
    """None when the server gives the expected answer, else what went wrong."""
    try:
        answer = ask(server, probe)
    except requests.RequestException as exc:
        return f"{probe.query}: {type(exc).__name__}: {exc}"
    if answer.status_code != 200:
        return f"{probe.query}: HTTP {answer.status_code}: {answer.text[:200]}"
    got = normalise(answer.content, probe.accept)
    return (
        None if got == probe.expected else f"{probe.query}: {got[:200]} != {probe.expected[:200]}"
    )


def still_answering(server: Served, dist: Path) -> None:
    count = Probe("get", JSON, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "")
    expected = str(len((dist / "graph.nt").read_bytes().splitlines()))
    assert check(server, Probe(**{**count.__dict__, "expected": expected})) is None
    assert server.process.poll() is None


def test_200_concurrent_queries_all_answer_correctly(
    server: Served, probes: list[Probe], dist: Path
) -> None:
    rng = random.Random(9)
    plan = [rng.choice(probes) for _ in range(CLIENTS * PER_CLIENT)]
    start_together = threading.Barrier(CLIENTS, timeout=60)

    def client(k: int) -> list[str | None]:
        start_together.wait()
        return [check(server, p) for p in plan[k * PER_CLIENT : (k + 1) * PER_CLIENT]]

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [r for batch in pool.map(client, range(CLIENTS)) for r in batch]
    elapsed = time.monotonic() - start
    assert len(results) == CLIENTS * PER_CLIENT
    assert [r for r in results if r is not None] == []
    print(f"{len(results)} queries from {CLIENTS} concurrent clients in {elapsed:.1f} s")
    still_answering(server, dist)


def test_expensive_query_cut_off_while_others_answer(
    server: Served, probes: list[Probe], dist: Path
) -> None:
    stop, failures, answered = threading.Event(), [], [0]

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            failure = check(server, rng.choice(probes))
            if failure:
                failures.append(failure)
            answered[0] += 1

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(8)]
    for worker in workers:
        worker.start()
    start = time.monotonic()
    try:
        response = requests.post(
            f"{server.url}/query", data={"query": EXPENSIVE}, headers={"Accept": JSON}, timeout=60
        )
        try:
            json.loads(response.text)
            complete = response.ok
        except ValueError:
            complete = False  # cut off mid-stream: the body is not a whole JSON document
    except requests.exceptions.ChunkedEncodingError:
        complete = False
    elapsed = time.monotonic() - start
    stop.set()
    for worker in workers:
        worker.join(60)
    assert not complete, "the expensive query should have been stopped"
    assert elapsed < TIMEOUT_S + 10, f"stopped after {elapsed:.1f} s (timeout {TIMEOUT_S} s)"
    assert failures == [] and answered[0] > 20, (answered, failures[:3])
    still_answering(server, dist)


UPDATE = "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }"
NT = b"<urn:x:a> <urn:x:b> <urn:x:c> .\n"
# name: (method, path, keyword arguments of requests.request, status, words of the reason)
REFUSED: dict[str, tuple[str, str, dict[str, Any], int, str]] = {
    "update-post-body": (
        "POST",
        "/update",
        {"data": UPDATE, "headers": {"Content-Type": "application/sparql-update"}},
        403,
        "read-only",
    ),
    "update-post-form": ("POST", "/update", {"data": {"update": UPDATE}}, 403, "read-only"),
    "update-get": ("GET", "/update", {"params": {"update": UPDATE}}, 403, "read-only"),
    "update-form-at-query": ("POST", "/query", {"data": {"update": "CLEAR ALL"}}, 403, "read-only"),
    "update-param-at-query": (
        "GET",
        "/query",
        {"params": {"update": "CLEAR ALL"}},
        403,
        "read-only",
    ),
    "update-body-at-query": (
        "POST",
        "/query",
        {"data": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}},
        403,
        "read-only",
    ),
    "gsp-put-default": ("PUT", "/store", {"params": {"default": ""}, "data": NT}, 403, "read-only"),
    "gsp-post-default": (
        "POST",
        "/store",
        {"params": {"default": ""}, "data": NT},
        403,
        "read-only",
    ),
    "gsp-put-named": (
        "PUT",
        "/store",
        {"params": {"graph": "urn:x:g"}, "data": NT},
        403,
        "read-only",
    ),
    "gsp-post-named": (
        "POST",
        "/store",
        {"params": {"graph": "urn:x:g"}, "data": NT},
        403,
        "read-only",
    ),
    "gsp-delete": ("DELETE", "/store", {"params": {"default": ""}}, 403, "read-only"),
    "gsp-patch": ("PATCH", "/store", {"params": {"default": ""}, "data": NT}, 403, "read-only"),
    "service-get": ("GET", "/query", {"params": {"query": "{service}"}}, 403, "SERVICE"),
    "service-form": ("POST", "/query", {"data": {"query": "{service}"}}, 403, "SERVICE"),
    "service-body": (
        "POST",
        "/query",
        {"data": "{service}", "headers": {"Content-Type": "application/sparql-query"}},
        403,
        "SERVICE",
    ),
    "service-in-url-with-form-body": (
        "POST",
        "/query",
        {"params": {"query": "{service}"}, "data": {"default-graph-uri": "urn:x:g"}},
        403,
        "SERVICE",
    ),
    "body-over-cap": (
        "POST",
        "/query",
        {"data": b"#" * (MAX_BODY + 1), "headers": {"Content-Type": "application/sparql-query"}},
        413,
        "over 1048576 bytes",
    ),
    "chunked-body-over-cap": (
        "POST",
        "/query",
        {
            "data": iter([b"#" * 65536] * (MAX_BODY // 65536 + 1)),
            "headers": {"Content-Type": "application/sparql-query"},
        },
        413,
        "over 1048576 bytes",
    ),
    "url-over-cap": ("GET", "/query", {"params": {"query": "a" * 40000}}, 414, "POST"),
    "unknown-content-type": (
        "POST",
        "/query",
        {"data": "ASK {}", "headers": {"Content-Type": "text/plain"}},
        415,
        "application/sparql-query",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_and_still_answering(
    case: str, server: Served, dist: Path, listener: RecordingListener
) -> None:
    method, path, kwargs, status, reason = REFUSED[case]
    service = fill(CASES["plain"][0], listener)
    kwargs = (
        json.loads(json.dumps(kwargs).replace("{service}", service))
        if "service" in case
        else kwargs
    )
    answer = requests.request(method, f"{server.url}{path}", timeout=30, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert reason in answer.text
    assert listener.connections(settle=0.1) == 0  # any SERVICE call would precede the answer
    still_answering(server, dist)


@pytest.mark.parametrize("form", [name for name, (_, does) in CASES.items() if does == CONNECTS])
def test_every_service_form_refused_nothing_connects(
    form: str, server: Served, listener: RecordingListener
) -> None:
    query = fill(CASES[form][0], listener)
    answer = requests.post(f"{server.url}/query", data={"query": query}, timeout=30)
    assert answer.status_code == 403
    assert "SERVICE (a call to another SPARQL endpoint) is refused (line " in answer.text
    assert listener.connections(settle=0.05) == 0


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ("SELECT (COUNT(*) AS ?n) FROM <{u}> WHERE { ?s ?p ?o }", {}),
        ("SELECT (COUNT(*) AS ?n) FROM NAMED <{u}> WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
        ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {"default-graph-uri": "{u}"}),
        ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", {"named-graph-uri": "{u}"}),
    ],
    ids=["from", "from-named", "default-graph-uri", "named-graph-uri"],
)
def test_remote_dataset_names_are_local_names_nothing_connects(
    query: str, params: dict[str, str], server: Served, listener: RecordingListener
) -> None:
    """Allowed: they name graphs of the local store (none has that name), never fetched."""
    fields = {"query": fill(query, listener), **{k: fill(v, listener) for k, v in params.items()}}
    answer = requests.get(
        f"{server.url}/query", params=fields, headers={"Accept": JSON}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["bindings"][0]["n"]["value"] == "0"
    assert listener.connections() == 0
