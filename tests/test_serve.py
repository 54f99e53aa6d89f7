"""`crampkg serve` for real: the Oxigraph server on a free loopback port, queried with requests.

The server is started once for the module as `python -m pipeline serve` (the command people
run), waited for, and always stopped. It answers the SPARQL 1.1 Protocol (GET and POST, results
by content negotiation), refuses updates and Graph Store writes, and cuts off a query that runs
past its timeout while it goes on answering others.
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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pyoxigraph import QueryResultsFormat, RdfFormat, Store

from pipeline.cli import main
from tests.conftest import ROOT
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


def start_serve(dist: Path, log: Path, timeout_s: int = TIMEOUT_S) -> Served:
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
