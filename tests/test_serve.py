"""`crampkg serve` for real: the Oxigraph server behind its proxy, on free loopback ports.

The server is started once for the module as `python -m pipeline serve` (the command people
run), waited for, and always stopped. It answers the SPARQL 1.1 Protocol (GET and POST, results
by content negotiation), refuses updates and Graph Store writes, and cuts off a query that runs
past its timeout while it goes on answering others. The proxy's handling of malformed and
hostile HTTP is tested here on raw sockets, its client timeout and connection limit on a second
proxy started in the test process before the same engine; the engine's own sandbox by going
around the proxy. Load and the refusal matrix: tests/test_serve_load.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pyoxigraph import QueryResultsFormat, RdfFormat, Store

from pipeline import serveproxy
from pipeline.cli import main
from pipeline.cli_sparql import DEFAULT_MAX_BODY, _byte_size
from pipeline.serveproxy import ProxyHandler, ProxyServer, Upstream
from tests.conftest import ROOT
from tests.listener import RecordingListener
from tests.test_query import build_corpus

QUERIES = ROOT / "queries"
TIMEOUT_S = 2  # the server's query timeout in these tests
JSON = "application/sparql-results+json"
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # 13k x 13k, streamed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def store_folder(self) -> Path:
        found = re.search(r"temporary store in (\S+) ", self.log.read_text())
        assert found, self.log.read_text()
        return Path(found.group(1))

    def engine_port(self) -> int:
        found = re.search(r"engine behind it listens on 127\.0\.0\.1:(\d+)", self.log.read_text())
        assert found, self.log.read_text()
        return int(found.group(1))

    def stop(self) -> int:
        """SIGTERM, as a service manager would; kill only if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def start_serve(
    dist: Path, log: Path, timeout_s: int = TIMEOUT_S, extra: tuple[str, ...] = ()
) -> Served:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline",
                "serve",
                "--dist",
                str(dist),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--timeout",
                str(timeout_s),
                *extra,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    served = Served(url, port, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"crampkg serve exited early:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/query", params={"query": "ASK {}"}, timeout=2).ok:
                return served
        except requests.RequestException:
            pass
        time.sleep(0.1)
    served.stop()
    raise AssertionError(f"crampkg serve did not answer within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_corpus(out, ["ntriples"])
    return out


@pytest.fixture(scope="module")
def local(dist: Path) -> Store:
    """The same graph in pyoxigraph, to compare the server's answers with."""
    store = Store()
    store.bulk_load(path=str(dist / "graph.nt"), format=RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="module")
def server(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_serve(dist, tmp_path_factory.mktemp("serve") / "serve.log")
    try:
        yield served
    finally:
        served.stop()


def count(server: Served) -> int:
    answer = requests.get(
        f"{server.url}/query",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
        headers={"Accept": JSON},
        timeout=10,
    )
    answer.raise_for_status()
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def triples_in(dist: Path) -> int:
    return len((dist / "graph.nt").read_bytes().splitlines())


def test_serves_the_whole_graph(server: Served, dist: Path) -> None:
    assert count(server) == triples_in(dist) > 10_000


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.rq")), ids=lambda p: p.stem)
def test_get_json_same_answers_as_local(path: Path, server: Served, local: Store) -> None:
    """Every competency question over HTTP GET gives what pyoxigraph gives on graph.nt."""
    query = path.read_text(encoding="utf-8")
    answer = requests.get(
        f"{server.url}/query", params={"query": query}, headers={"Accept": JSON}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith(JSON)
    expected = json.loads(local.query(query).serialize(format=QueryResultsFormat.JSON))
    got = answer.json()
    assert got["head"] == expected["head"]

    def rows(doc: dict[str, Any]) -> list[str]:
        """Rows tied in ORDER BY, and the items of a GROUP_CONCAT, may come in any order."""
        out = []
        for binding in doc["results"]["bindings"]:
            for term in binding.values():
                term["value"] = " ".join(sorted(re.split(r"[\s;]+", term["value"])))
            out.append(json.dumps(binding, sort_keys=True))
        return sorted(out)

    assert rows(got) == rows(expected) != []


def test_post_form_csv_by_content_negotiation(server: Served) -> None:
    query = (QUERIES / "independent-risk-factors.rq").read_text(encoding="utf-8")
    answer = requests.post(
        f"{server.url}/query", data={"query": query}, headers={"Accept": "text/csv"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {(r["riskFactorLabel"], r["independentSources"]) for r in rows} == {
        ("Certain medications", "2"),
        ("Exercising in heat", "2"),
    }


def test_post_sparql_query_body_json(server: Served) -> None:
    answer = requests.post(
        f"{server.url}/query",
        data=b"ASK { <https://w3id.org/crampkg/entity/heat-cramps> a "
        b"<https://w3id.org/crampkg/ontology#Condition> }",
        headers={"Content-Type": "application/sparql-query", "Accept": JSON},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json() == {"head": {}, "boolean": True}


def test_query_ui_at_root(server: Served) -> None:
    answer = requests.get(f"{server.url}/", headers={"Accept": "text/html"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<html" in answer.text.lower()


def test_updates_are_refused(server: Served, dist: Path) -> None:
    update = "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }"
    for request in (
        {"data": update, "headers": {"Content-Type": "application/sparql-update"}},
        {"data": {"update": update}},
    ):
        answer = requests.post(f"{server.url}/update", timeout=10, **request)
        assert answer.status_code in (403, 405), answer.text
    answer = requests.post(
        f"{server.url}/query", data={"update": "CLEAR ALL"}, headers={"Accept": JSON}, timeout=10
    )
    assert answer.status_code >= 400
    assert count(server) == triples_in(dist)


def test_graph_store_writes_are_refused(server: Served, dist: Path) -> None:
    body = b"<urn:x:a> <urn:x:b> <urn:x:c> .\n"
    nt = {"Content-Type": "application/n-triples"}
    for method, params in (
        ("PUT", {"default": ""}),
        ("POST", {"default": ""}),
        ("PUT", {"graph": "urn:x:g"}),
        ("POST", {"graph": "urn:x:g"}),
        ("DELETE", {"default": ""}),
    ):
        answer = requests.request(
            method, f"{server.url}/store", params=params, data=body, headers=nt, timeout=10
        )
        assert answer.status_code in (403, 405), (method, params, answer.status_code)
    assert count(server) == triples_in(dist)
    read = requests.get(
        f"{server.url}/store",
        params={"default": ""},
        headers={"Accept": "application/n-triples"},
        timeout=30,
    )
    assert read.status_code == 200  # reading through the Graph Store is allowed
    assert len(read.content.splitlines()) == triples_in(dist)


def test_expensive_query_is_cut_off_and_server_keeps_answering(server: Served) -> None:
    start = time.monotonic()
    try:
        answer = requests.post(
            f"{server.url}/query", data={"query": EXPENSIVE}, headers={"Accept": JSON}, timeout=60
        )
        body = answer.text
        complete = answer.ok and '"value"' in body
        try:  # Oxigraph may have sent the header before the deadline: the body is then cut
            json.loads(body)
        except ValueError:
            complete = False
    except requests.exceptions.ChunkedEncodingError:
        complete = False
    elapsed = time.monotonic() - start
    assert not complete, "the expensive query should not have produced a result"
    assert elapsed < TIMEOUT_S + 10, f"cut off after {elapsed:.1f} s, timeout is {TIMEOUT_S} s"
    start = time.monotonic()
    assert requests.get(f"{server.url}/query", params={"query": "ASK {}"}, timeout=10).ok
    assert time.monotonic() - start < 2
    assert server.process.poll() is None


CUT_FORMATS = ["text/csv", "text/tab-separated-values", JSON]


@pytest.fixture(scope="module")
def cut_answers(server: Served) -> dict[str, tuple[str, float]]:
    """The expensive query in each format, at once: how each answer ended, and when."""

    def fetch(accept: str) -> tuple[str, float]:
        start = time.monotonic()
        try:
            requests.get(
                f"{server.url}/query",
                params={"query": EXPENSIVE},
                headers={"Accept": accept},
                timeout=60,
            ).raise_for_status()
            ending = "complete"
        except requests.RequestException as exc:
            ending = type(exc).__name__
        return ending, time.monotonic() - start

    with ThreadPoolExecutor(len(CUT_FORMATS)) as pool:
        return dict(zip(CUT_FORMATS, pool.map(fetch, CUT_FORMATS), strict=True))


@pytest.mark.parametrize("accept", CUT_FORMATS)
def test_answer_cut_by_the_timeout_is_a_broken_transfer(
    accept: str, cut_answers: dict[str, tuple[str, float]], server: Served
) -> None:
    """Oxigraph ends it cleanly after an error line (in CSV, one more row); the proxy does not."""
    ending, elapsed = cut_answers[accept]
    assert ending == "ChunkedEncodingError"
    assert elapsed < TIMEOUT_S + 10
    assert count(server) > 0


def test_sigterm_stops_server_and_removes_store(dist: Path, tmp_path: Path) -> None:
    served = start_serve(dist, tmp_path / "serve.log")
    try:
        store = served.store_folder()
        assert store.is_dir()
    finally:
        code = served.stop()
    assert code == 0, served.log.read_text()
    assert not store.exists() and not store.parent.exists()
    assert not port_open(served.port)  # the Oxigraph child is gone too
    assert "stopping the server" in served.log.read_text()


def test_serve_without_build_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--dist", str(tmp_path), "--port", str(free_port())]) == 2
    assert "graph.nt not found" in capsys.readouterr().err


def raw(port: int, request: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send bytes as they are; the first status code, and all that came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while True:
            try:
                piece = conn.recv(65536)
            except ConnectionResetError:
                break
            data += piece
            head, end, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if not piece or (end and length and len(body) >= int(length.group(1))):
                break
    return int(data.split(b" ", 2)[1]), data


ASK = b"ASK {}"
Q = b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
MALFORMED = {
    "content-length-and-chunked": (
        Q + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nASK {}\r\n0\r\n\r\n",
        400,
    ),
    "two-content-lengths": (Q + b"Content-Length: 6\r\nContent-Length: 7\r\n\r\nASK {} ", 400),
    "content-length-not-a-number": (Q + b"Content-Length: 6x\r\n\r\nASK {}", 400),
    "no-content-length": (Q + b"\r\nASK {}", 411),
    "compressed-body": (Q + b"Content-Encoding: gzip\r\nContent-Length: 6\r\n\r\nASK {}", 415),
    "unknown-transfer-coding": (Q + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    "bad-chunk-size": (Q + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nASK {}\r\n0\r\n\r\n", 400),
    "expect-100-over-cap": (
        Q + b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (DEFAULT_MAX_BODY + 1),
        413,
    ),
    "two-content-types": (
        Q + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\nASK {}",
        415,
    ),
    "form-body-not-ascii": (
        b"POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 12\r\n\r\nquery=ASK\xc3\xa9{}",
        400,
    ),
    "query-not-utf8": (Q + b"Content-Length: 7\r\n\r\nASK {}\xff", 400),
    "get-with-body": (
        b"GET /query?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
        400,
    ),
    "absolute-form-target": (
        b"GET http://127.0.0.1/query?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
    ),
    "scheme-relative-target": (b"GET //evil.example/query HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    "non-ascii-target": (b"GET /query?query=ASK\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "unknown-path": (b"GET /sparql HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    "options": (b"OPTIONS /query HTTP/1.1\r\nHost: x\r\n\r\n", 403),
    "folded-header": (b"GET /query?query=ASK%7B%7D HTTP/1.1\r\nAccept: a\r\n b\r\n\r\n", 400),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_refused(case: str, server: Served, dist: Path) -> None:
    request, status = MALFORMED[case]
    code, data = raw(server.port, request)
    assert code == status, data[:300]
    assert b"Content-Type: text/plain; charset=utf-8" in data
    assert not data.startswith(b"HTTP/1.1 100")  # a body over the cap is refused unsent
    assert count(server) == triples_in(dist)


def test_chunked_body_within_the_cap_answers(server: Served) -> None:
    body = b"3\r\nASK\r\n3\r\n {}\r\n0\r\n\r\n"
    code, data = raw(
        server.port,
        Q
        + b"Transfer-Encoding: chunked\r\nAccept: "
        + JSON.encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body,
    )
    assert code == 200 and data.endswith(b'"boolean":true}')


def test_http_1_0_client_gets_the_whole_stream(server: Served, dist: Path) -> None:
    code, data = raw(
        server.port, b"GET /store?default HTTP/1.0\r\nAccept: application/n-triples\r\n\r\n"
    )
    head, _, body = data.partition(b"\r\n\r\n")
    assert code == 200 and b"chunked" not in head.lower()
    assert len(body.splitlines()) == triples_in(dist)


def test_head_of_the_query_ui(server: Served) -> None:
    code, data = raw(server.port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert code == 200 and data.endswith(b"\r\n\r\n")


@pytest.fixture
def front(server: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProxyServer]:
    """A second proxy, in this process, before the module server's engine: short timeouts."""
    monkeypatch.setattr(ProxyHandler, "timeout", 0.5)
    proxy = ProxyServer(("127.0.0.1", 0))
    proxy.upstream = Upstream("127.0.0.1", server.engine_port(), 30.0)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def ask_front(proxy: ProxyServer) -> bool:
    answer = requests.get(
        f"http://127.0.0.1:{proxy.server_address[1]}/query",
        params={"query": "ASK { ?s ?p ?o }"},
        headers={"Accept": JSON},
        timeout=10,
    )
    return answer.status_code == 200 and answer.json()["boolean"] is True


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /query?query=ASK HTTP/1.1\r\nHost:", Q + b"Content-Length: 6\r\n\r\nAS"],
    ids=["nothing", "half-a-header", "half-a-body"],
)
def test_silent_client_dropped_server_keeps_answering(front: ProxyServer, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", front.server_address[1]), timeout=5) as conn:
        conn.sendall(sent)
        start = time.monotonic()
        assert conn.recv(1024) == b""  # closed by the proxy, with nothing to say
        assert time.monotonic() - start < 3
    assert ask_front(front)


def test_connections_over_the_limit_get_503(
    front: ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(front, "slots", threading.BoundedSemaphore(2))
    monkeypatch.setattr(ProxyHandler, "timeout", 5.0)
    port = front.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        code, data = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert code == 503 and b"Retry-After: 1" in data
    finally:
        for conn in idle:
            conn.close()
    time.sleep(0.3)
    assert ask_front(front)


@pytest.mark.parametrize(("engine", "status"), [("silent", 504), ("down", 502)])
def test_engine_silent_or_down(engine: str, status: int, front: ProxyServer) -> None:
    with socket.socket() as backend:
        backend.bind(("127.0.0.1", 0))
        if engine == "silent":
            backend.listen(8)  # connections complete in the kernel, and nothing answers
        front.upstream = Upstream("127.0.0.1", backend.getsockname()[1], 0.5)
        code, data = raw(front.server_address[1], b"GET /query?query=ASK%7B%7D HTTP/1.1\r\n\r\n")
    assert code == status, data


def test_engine_denies_the_network_even_when_reached_directly(server: Served) -> None:
    """Around the proxy, straight to Oxigraph: SERVICE fails inside, and nothing connects."""
    if "network access denied" not in server.log.read_text():
        pytest.skip("the seccomp sandbox is Linux x86-64/arm64")
    listener = RecordingListener()
    try:
        answer = requests.get(
            f"http://127.0.0.1:{server.engine_port()}/query",
            params={"query": f"SELECT * WHERE {{ SERVICE <{listener.url}sparql> {{ ?a ?b ?c }} }}"},
            headers={"Accept": JSON},
            timeout=30,
        )
        assert "Permission denied" in answer.text
        assert listener.connections() == 0
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("text", "size"), [("1048576", 1 << 20), ("64K", 65536), ("4M", 4 << 20), ("2MiB", 2 << 20)]
)
def test_max_body_sizes(text: str, size: int) -> None:
    assert _byte_size(text) == size
    assert DEFAULT_MAX_BODY == serveproxy.DEFAULT_MAX_BODY


@pytest.mark.parametrize("text", ["0", "-1", "1.5M", "lots", ""])
def test_max_body_refuses_non_sizes(text: str) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--max-body", text])
