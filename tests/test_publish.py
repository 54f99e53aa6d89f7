"""`crampkg publish`: against a real `oxigraph serve` on loopback, and HTTP edge cases with
`responses` (429 then 200, 5xx until the retries run out, 401, Retry-After, credentials).
The faults of issue 9 (store down, slow, 500 then 200, closing mid-upload) are in
tests/test_publish_faults.py, against a real store behind a fault proxy."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import responses

from pipeline.cli import main
from pipeline.publish import (
    Endpoints,
    PublishError,
    Retry,
    default_graph,
    derive_endpoints,
    publish,
    retry_after,
)
from pipeline.serve import oxigraph_binary
from tests.test_query import build_corpus

GRAPH = "https://w3id.org/crampkg/graph"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Oxigraph:
    """A read-write `oxigraph serve` on a persistent store folder, restartable on one port."""

    def __init__(self, location: Path):
        self.location, self.port = location, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(oxigraph_binary()),
                "serve",
                "--location",
                str(self.location),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "oxigraph serve exited at start"
            try:
                if requests.get(f"{self.url}/query", params={"query": "ASK {}"}, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("oxigraph serve did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def select(self, query: str) -> list[dict[str, str]]:
        answer = requests.post(
            f"{self.url}/query",
            data={"query": query},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        )
        answer.raise_for_status()
        return [{k: v["value"] for k, v in b.items()} for b in answer.json()["results"]["bindings"]]

    def count(self, graph: str | None = None) -> int:
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
        return int(self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")[0]["n"])


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_corpus(out, ["ntriples"])
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Oxigraph]:
    server = Oxigraph(tmp_path / "store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def lines(dist: Path) -> int:
    return len((dist / "graph.nt").read_bytes().splitlines())


# --------------------------------------------------------------------------- real Oxigraph


def test_publish_replaces_the_graph(
    dist: Path, store: Oxigraph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert default_graph(dist) == GRAPH
    expected = lines(dist)
    assert main(["publish", "--dist", str(dist), "--endpoint", store.url]) == 0
    assert f"published {expected} triples to <{GRAPH}>" in capsys.readouterr().err
    assert store.count(GRAPH) == expected > 10_000
    assert store.count() == 0  # nothing in the default graph

    # again: the graph is replaced, not added to
    assert main(["publish", "--dist", str(dist), "--endpoint", f"{store.url}/store"]) == 0
    assert store.count(GRAPH) == expected
    # a smaller build replaces it too: not a union with the previous triples
    smaller = tmp_path / "smaller"
    smaller.mkdir()
    kept = (dist / "graph.nt").read_bytes().splitlines(keepends=True)[:100]
    (smaller / "graph.nt").write_bytes(b"".join(kept))
    assert main(["publish", "--dist", str(smaller), "--endpoint", store.url, "--graph", GRAPH]) == 0
    assert store.count(GRAPH) == 100
    assert main(["publish", "--dist", str(dist), "--endpoint", store.url]) == 0
    assert store.count(GRAPH) == expected


def test_other_graph_names_and_fuseki_style_endpoints(dist: Path, store: Oxigraph) -> None:
    with requests.Session() as session:
        endpoints = derive_endpoints(f"{store.url}/store", f"{store.url}/query")
        assert publish(dist, endpoints, "urn:x:release-1", session) == lines(dist)
    assert store.count("urn:x:release-1") == lines(dist)
    assert store.count(GRAPH) == 0


def test_read_only_store_is_a_clear_4xx(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location = tmp_path / "ro"
    subprocess.run(
        [
            str(oxigraph_binary()),
            "load",
            "--location",
            str(location),
            "--file",
            str(dist / "graph.nt"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            str(oxigraph_binary()),
            "serve-read-only",
            "--location",
            str(location),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ro = Oxigraph(location)
        ro.port, ro.url, ro.process = port, f"http://127.0.0.1:{port}", process
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{ro.url}/query", params={"query": "ASK {}"}, timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        assert main(["publish", "--dist", str(dist), "--endpoint", ro.url]) == 2
        err = capsys.readouterr().err
        assert "HTTP 403 Forbidden" in err and "read-only" in err
    finally:
        process.terminate()
        process.wait(10)


# --------------------------------------------------------------------------- HTTP edge cases

STORE, QUERY = "http://store.test/store", "http://store.test/query"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "graph.nt").write_bytes(
        b"<urn:x:a> <urn:x:p> <urn:x:b> .\n<urn:x:a> <urn:x:p> <urn:x:c> .\n"
        b'<urn:x:b> <urn:x:q> "t" .\n'
    )
    return tmp_path


def count_answer(n: int) -> dict[str, object]:
    return {
        "head": {"vars": ["n"]},
        "results": {"bindings": [{"n": {"type": "literal", "value": str(n)}}]},
    }


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@responses.activate
def test_429_then_success_honours_retry_after(tiny: Path) -> None:
    responses.put(STORE, status=429, headers={"Retry-After": "3"})
    responses.put(STORE, status=204)
    responses.post(QUERY, json=count_answer(3))
    sleeps = Sleeps()
    with requests.Session() as s:
        assert publish(tiny, Endpoints(STORE, QUERY), GRAPH, s, Retry(4, 0.5, 5, sleeps)) == 3
    assert sleeps == [3.0]
    put = responses.calls[1].request
    assert put.method == "PUT" and put.url == f"{STORE}?graph={quote(GRAPH, safe='')}"
    assert put.headers["Content-Type"] == "application/n-triples"
    assert put.body == (tiny / "graph.nt").read_bytes()
    assert "GRAPH+%3Chttps%3A%2F%2Fw3id.org%2Fcrampkg%2Fgraph%3E" in str(
        responses.calls[2].request.body
    )


@responses.activate
def test_500_until_retries_run_out(tiny: Path) -> None:
    responses.put(STORE, status=500, body="disk full")
    sleeps = Sleeps()
    with requests.Session() as s, pytest.raises(PublishError) as info:
        publish(tiny, Endpoints(STORE, QUERY), GRAPH, s, Retry(3, 0.5, 5, sleeps))
    assert str(info.value) == (
        f"PUT {STORE} failed with HTTP 500 Internal Server Error after 4 attempt(s): disk full; "
        f"<{GRAPH}> is either unchanged or fully replaced by the 3 new triples, never partly "
        "(the store applies a PUT in one transaction): run publish again"
    )
    assert sleeps == [0.5, 1.0, 2.0]  # exponential backoff
    assert len(responses.calls) == 4  # and no COUNT query: nothing was written


@responses.activate
def test_401_stops_at_once_with_a_hint(tiny: Path) -> None:
    responses.put(STORE, status=401, body="Unauthorized")
    sleeps = Sleeps()
    with requests.Session() as s, pytest.raises(PublishError) as info:
        publish(tiny, Endpoints(STORE, QUERY), GRAPH, s, Retry(3, 0.5, 5, sleeps))
    assert "HTTP 401" in str(info.value) and "--user and --password, or --token" in str(info.value)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_connection_error_is_retried(tiny: Path) -> None:
    responses.put(STORE, body=requests.ConnectionError("refused"))
    responses.put(STORE, status=201)
    responses.post(QUERY, json=count_answer(3))
    sleeps = Sleeps()
    with requests.Session() as s:
        assert publish(tiny, Endpoints(STORE, QUERY), GRAPH, s, Retry(2, 0.25, 5, sleeps)) == 3
    assert sleeps == [0.25]


@responses.activate
def test_count_mismatch_is_an_error(tiny: Path) -> None:
    responses.put(STORE, status=204)
    responses.post(QUERY, json=count_answer(7))
    with requests.Session() as s, pytest.raises(PublishError, match="holds 7 triples, not 3"):
        publish(tiny, Endpoints(STORE, QUERY), GRAPH, s, Retry(0, 0, 5, Sleeps()))


@responses.activate
@pytest.mark.parametrize(
    ("args", "env", "header"),
    [
        (["--token", "t0k"], {}, "Bearer t0k"),
        ([], {"CRAMPKG_TOKEN": "from-env"}, "Bearer from-env"),
        (["--user", "admin", "--password", "pw"], {}, "Basic YWRtaW46cHc="),
        (["--user", "admin"], {"CRAMPKG_PASSWORD": "pw"}, "Basic YWRtaW46cHc="),
    ],
)
def test_credentials(
    args: list[str], env: dict[str, str], header: str, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CRAMPKG_TOKEN", "CRAMPKG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    responses.put(STORE, status=204)
    responses.post(QUERY, json=count_answer(3))
    assert main(["publish", "--dist", str(tiny), "--endpoint", STORE, *args]) == 0
    assert [c.request.headers["Authorization"] for c in responses.calls] == [header, header]


@pytest.mark.parametrize(
    "args",
    [
        ["--user", "a", "--token", "t"],  # both kinds of credentials
        ["--user", "a"],  # a user without a password
    ],
)
def test_credential_usage_errors(
    args: list[str], tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CRAMPKG_PASSWORD", raising=False)
    assert main(["publish", "--dist", str(tiny), "--endpoint", STORE, *args]) == 2
    assert capsys.readouterr().err


def test_missing_build_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish", "--dist", str(tmp_path), "--endpoint", "http://127.0.0.1:9/store"]) == 2
    assert "graph.nt" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("endpoint", "query", "expected"),
    [
        ("http://h:7878", None, Endpoints("http://h:7878/store", "http://h:7878/query")),
        ("http://h:7878/", None, Endpoints("http://h:7878/store", "http://h:7878/query")),
        ("https://h/kg/store", None, Endpoints("https://h/kg/store", "https://h/kg/query")),
        (
            "http://h:3030/ds/data",
            None,
            Endpoints("http://h:3030/ds/data", "http://h:3030/ds/query"),
        ),
        (
            "http://h/repositories/kg/rdf-graphs/service",
            None,
            Endpoints("http://h/repositories/kg/rdf-graphs/service", "http://h/repositories/kg"),
        ),
        ("http://h/gsp", "http://h/sparql", Endpoints("http://h/gsp", "http://h/sparql")),
    ],
)
def test_endpoint_layouts(endpoint: str, query: str | None, expected: Endpoints) -> None:
    assert derive_endpoints(endpoint, query) == expected


@pytest.mark.parametrize(
    ("endpoint", "query"), [("http://h/gsp", None), ("ftp://h/store", None), ("h:7878", None)]
)
def test_endpoint_errors(endpoint: str, query: str | None) -> None:
    with pytest.raises(PublishError):
        derive_endpoints(endpoint, query)


def test_retry_after_date() -> None:
    answer = requests.Response()
    answer.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert retry_after(answer) == 0.0
    answer.headers["Retry-After"] = "12"
    assert retry_after(answer) == 12.0
    answer.headers["Retry-After"] = "soon"
    assert retry_after(answer) is None
