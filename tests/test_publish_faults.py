"""Issue 9, case 8: `crampkg publish` when the store is down, slow, failing or cut off.

A real `oxigraph serve` holds the published graph; between it and crampkg sits a fault proxy
on loopback (raw sockets, one thread per connection) that, for PUT requests, follows a plan:
answer 500, hold the request past the client's timeout, forward half of the body and then
close both connections, or forward the whole body and close without relaying the answer.
Every other request (the COUNT check) passes through. Whatever happens, the graph in the
store must be the old one or the new one, complete: its exact triple count is checked.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipeline.cli import main
from tests.test_publish import GRAPH, Oxigraph, free_port

OLD, NEW = 100, 1500  # triples in the published graph before, and in the build to publish
HOLD = 5.0  # how long a "slow" answer is held: far beyond the client's timeout


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: int):
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream = upstream
        self.plan: list[str] = []  # the fate of the next PUTs; then they pass
        self.puts: list[str] = []  # the fate each PUT met
        self.forwarded_bytes: list[tuple[int, int]] = []  # (body bytes sent to the store, of)
        self.release = threading.Event()
        self.forwarded = threading.Event()  # set when a "pause" has sent half of a body
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fate(self, method: str) -> str:
        with self.lock:
            if method != "PUT":
                return "pass"
            fate = self.plan.pop(0) if self.plan else "pass"
            self.puts.append(fate)
            return fate


class Handler(socketserver.BaseRequestHandler):
    server: Proxy

    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                return
            head += data
        head, _, body = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method = lines[0].split(" ", 1)[0]
        fields = [line for line in lines[1:] if not line.lower().startswith("connection:")]
        length = next(
            (int(f.split(":", 1)[1]) for f in fields if f.lower().startswith("content-length:")),
            0,
        )
        fate = self.server.fate(method)
        upstream_head = "\r\n".join([lines[0], *fields, "Connection: close", "", ""]).encode()

        def rest_of_body(limit: int) -> Iterator[bytes]:
            nonlocal body
            sent = 0
            while sent < limit:
                if not body:
                    body = client.recv(65536)
                    if not body:
                        return
                piece, body = body[: limit - sent], body[limit - sent :]
                sent += len(piece)
                yield piece

        if fate in ("500", "slow"):
            for _ in rest_of_body(length):
                pass
            if fate == "slow":
                self.server.release.wait(HOLD)
                return
            client.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n"
                b"Connection: close\r\n\r\nstore busy"
            )
            return
        with socket.create_connection(("127.0.0.1", self.server.upstream)) as up:
            up.sendall(upstream_head)
            half = length // 2 if fate in ("cut-mid-body", "pause") else length
            for piece in rest_of_body(half):
                up.sendall(piece)
            if method == "PUT":
                self.server.forwarded_bytes.append((half, length))
            if fate == "cut-mid-body":
                return  # both sockets close here, the store has half of the body
            if fate == "pause":
                self.server.forwarded.set()
                self.server.release.wait(HOLD)
                for piece in rest_of_body(length - half):
                    up.sendall(piece)
            answer = b""
            while data := up.recv(65536):
                answer += data
        if fate == "cut-after-body":
            return  # the store has answered; the client never hears it
        client.sendall(answer)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oxigraph]:
    server = Oxigraph(tmp_path_factory.mktemp("faults") / "store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(store: Oxigraph) -> Iterator[Proxy]:
    server = Proxy(store.port)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def triples(release: str, n: int) -> bytes:
    text = "A sentence long enough to make the body span many TCP segments. " * 3
    return "".join(
        f'<urn:crampkg:test:{release}/{i}> <http://schema.org/text> "{text}{i}" .\n'
        for i in range(n)
    ).encode()


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two builds: the one already published (OLD triples) and the new one (NEW triples)."""
    old, new = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("new")
    (old / "graph.nt").write_bytes(triples("old", OLD))
    (new / "graph.nt").write_bytes(triples("new", NEW))  # no triple in common with old
    return old, new


def count_everywhere(store: Oxigraph) -> int:
    """Triples in every named graph and in the default graph."""
    where = "{ GRAPH ?g { ?s ?p ?o } } UNION { ?s ?p ?o }"
    return int(store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")[0]["n"])


def put_directly(store: Oxigraph, graph_nt: Path) -> None:
    answer = requests.put(
        f"{store.url}/store",
        params={"graph": GRAPH},
        data=graph_nt.read_bytes(),
        headers={"Content-Type": "application/n-triples"},
        timeout=30,
    )
    answer.raise_for_status()


def publish(dist: Path, endpoint: str, timeout: float) -> int:
    return main(
        [
            *("publish", "--dist", str(dist), "--endpoint", endpoint, "--graph", GRAPH),
            *("--retries", "2", "--backoff", "0.05", "--timeout", str(timeout)),
        ]
    )


# (plan for the PUTs, exit code, words of the error, graph afterwards, client timeout)
CASES = {
    "down": ([], 2, "failed after 3 attempt(s): cannot connect (Connection refused)", OLD, 5),
    "500-then-200": (["500"], 0, "", NEW, 5),
    "500-always": (["500"] * 3, 2, "failed with HTTP 500 Internal Server Error after 3", OLD, 5),
    "slow": (["slow"] * 3, 2, "failed after 3 attempt(s): no answer within 0.5 s", OLD, 0.5),
    "slow-then-fast": (["slow"], 0, "", NEW, 1),
    "closing-mid-upload": (
        ["cut-mid-body"] * 3,
        2,
        "failed after 3 attempt(s): the connection was closed before the store answered",
        OLD,
        5,
    ),
    "closing-mid-upload-then-whole": (["cut-mid-body"], 0, "", NEW, 5),
    "closing-after-upload-without-answer": (
        ["cut-after-body"] * 3,
        2,
        "failed after 3 attempt(s): the connection was closed before the store answered",
        NEW,  # the store applied the upload; only its answer was lost
        5,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_publish_fault_leaves_the_graph_old_or_new(
    case: str,
    store: Oxigraph,
    proxy: Proxy,
    graphs: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan, code, words, after, timeout = CASES[case]
    old, new = graphs
    put_directly(store, old / "graph.nt")
    assert store.count(GRAPH) == OLD
    proxy.plan = list(plan)
    endpoint = f"http://127.0.0.1:{free_port()}" if case == "down" else proxy.url
    capsys.readouterr()
    started = time.monotonic()
    assert publish(new, endpoint, timeout) == code
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    if code:
        assert f"publishing failed: PUT {endpoint}/store {words}" in err
    else:
        assert f"published {NEW} triples to <{GRAPH}>" in err
    if case == "down":  # no attempt got a connection: the store cannot have changed
        assert err.rstrip().endswith(f"{words}; <{GRAPH}> is unchanged")
    elif code:
        assert f"<{GRAPH}> is either unchanged or fully replaced by the {NEW} new triples" in err
    # bounded: 3 attempts of at most `timeout` each, plus 0.05 + 0.1 s of backoff
    assert elapsed < 3 * timeout + 3
    assert store.count(GRAPH) == after  # the whole old graph or the whole new one
    assert count_everywhere(store) == after  # and nothing else anywhere
    if case != "down":
        assert proxy.puts == (plan if code else [*plan, "pass"])
    if case.startswith("closing-mid-upload"):  # the store did get a truncated body
        sent, length = proxy.forwarded_bytes[0]
        assert 0 < sent < length


def test_invalid_body_half_way_leaves_the_old_graph(
    store: Oxigraph, graphs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store parses the whole body before replacing: a bad line half-way changes nothing."""
    old, new = graphs
    put_directly(store, old / "graph.nt")
    lines = (new / "graph.nt").read_bytes().splitlines(keepends=True)
    (tmp_path / "graph.nt").write_bytes(b"".join([*lines[:700], b"<broken\n", *lines[700:]]))
    assert publish(tmp_path, store.url, 5) == 2
    assert "failed with HTTP 400 Bad Request" in capsys.readouterr().err
    assert store.count(GRAPH) == OLD


def test_readers_see_the_old_graph_during_an_upload(
    store: Oxigraph, proxy: Proxy, graphs: tuple[Path, Path]
) -> None:
    old, new = graphs
    put_directly(store, old / "graph.nt")
    proxy.plan = ["pause"]  # half of the body reaches the store, then the proxy waits
    result: list[int] = []
    upload = threading.Thread(target=lambda: result.append(publish(new, proxy.url, 10)))
    upload.start()
    try:
        assert proxy.forwarded.wait(10)
        time.sleep(0.2)  # let the store take in what it has
        assert store.count(GRAPH) == OLD
    finally:
        proxy.release.set()
        upload.join(30)
    assert result == [0]
    assert store.count(GRAPH) == NEW
