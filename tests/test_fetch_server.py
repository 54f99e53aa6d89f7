"""`crampkg fetch` end to end against a real HTTP server on 127.0.0.1 (a thread, a free port).

Covers 503 then 200 and the snapshot life cycle: new source, re-fetch with orphaned quotes,
accept. The refusals of issue 9 (stalled body, gzip bomb, 10 GB body, redirect loop, wrong
content type) are in tests/test_fetch_refusals.py, private addresses in test_fetch_hosts.py.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.checks import check_corpus
from pipeline.cli import main
from pipeline.fetch import files
from pipeline.load import load_corpus
from pipeline.report import Report
from tests import loopback
from tests.loopback import tree

PAGE = """<!doctype html><html lang="en"><head><title>Night cramps | Test Site</title>
<meta property="og:title" content="Night cramps"></head>
<body><nav><a href="/">Home</a></nav>
<article><h1>Night cramps</h1>
<p>Night cramps often strike the calf muscles.</p>
<p>{changing}</p>
</article>
<div id="comments"><p>Anna: mine stop when I stretch.</p></div>
<footer>Copyright</footer></body></html>
"""
FIRST = "Stretching before bed may help prevent them."
SECOND = "Stretching before bed does not help, a new trial found."


class Site(loopback.Site):
    def __init__(self) -> None:
        super().__init__()
        self.changing = FIRST


class Handler(BaseHTTPRequestHandler):
    server: loopback.Server

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        site = self.server.site
        site.hits[self.path] += 1
        html = "text/html; charset=utf-8"
        if self.path == "/article":
            self.send(200, PAGE.format(changing=site.changing).encode(), html)
        elif self.path == "/moved":
            self.send(301, b"", html, Location="/article")
        elif self.path == "/flaky":
            if site.hits[self.path] == 1:
                self.send(503, b"busy", "text/plain", Retry_After="0")
            else:
                self.send(200, PAGE.format(changing="Recovered.").encode(), html)
        else:
            self.send(404, b"not here", "text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Site]]:
    with loopback.serve(Handler, Site()) as (url, site):
        assert isinstance(site, Site)
        yield url, site


@pytest.fixture
def site(server: tuple[str, Site]) -> Site:
    server[1].changing = FIRST
    server[1].hits.clear()
    return server[1]


@pytest.fixture
def base(server: tuple[str, Site]) -> str:
    return server[0]


def fetch(data: Path, *args: str) -> int:
    return main(
        [
            *("fetch", *args, "--data", str(data), "--timeout", "0.5", "--retries", "1"),
            *("--allow-private-host", "127.0.0.1"),  # the test server; refused by default
        ]
    )


def test_503_then_200(minimal_copy, base, site, capsys):
    assert fetch(minimal_copy, f"{base}/flaky", "--id", "srv-flaky") == 0
    assert site.hits["/flaky"] == 2
    text = (minimal_copy / "sources" / "srv-flaky.txt").read_text()
    assert "Recovered." in text


def validate(data: Path) -> Report:
    report = Report()
    check_corpus(load_corpus(data, report), data, report)
    return report


CLAIMS = """claims:
  - id: srv-calf
    source: srv-article
    subject: muscle-cramp
    predicate: characteristic
    value: Night cramps often affect the calves.
    stance: supports
    evidence:
      - quote: "Night cramps often strike the calf muscles."
  - id: srv-stretch
    source: srv-article
    subject: muscle-cramp
    predicate: has-prevention
    object: calf-stretch
    stance: hypothesis
    evidence:
      - quote: "Stretching before bed may help prevent them."
"""


def test_new_source_refetch_and_accept(minimal_copy, base, site, capsys):
    data = minimal_copy
    sources = data / "sources"
    # 1. a new source, through a redirect
    assert fetch(data, f"{base}/moved", "--id", "srv-article") == 0
    text = (sources / "srv-article.txt").read_bytes()
    assert text.decode() == (
        "Night cramps\n\nNight cramps often strike the calf muscles.\n\n"
        f"{FIRST}\n\nReader comments\n\nAnna: mine stop when I stretch.\n"
    )
    record = (sources / "srv-article.fetch.json").read_text()
    assert f'"finalUrl": "{base}/article"' in record and '"status": 200' in record
    assert f'"sha256": "{hashlib.sha256(text).hexdigest()}"' in record
    (data / "claims" / "srv.yaml").write_text(CLAIMS)
    report = validate(data)
    assert [p.format() for p in report.problems if p.severity.value == "violation"] == []
    yaml_before = (sources / "srv-article.yaml").read_bytes()

    # 2. the page changes: a candidate is staged, the snapshot stays, the orphan is named
    site.changing = SECOND
    capsys.readouterr()
    assert fetch(data, "--id", "srv-article") == 0  # the URL comes from the source's `url`
    err = capsys.readouterr().err
    assert (sources / "srv-article.txt").read_bytes() == text
    staged = (sources / "srv-article.txt.new").read_bytes()
    assert SECOND in staged.decode()
    assert (sources / "srv-article.fetch.json.new").exists()
    assert "2 quote(s) or region(s) would no longer match" in err
    assert (
        "data/claims/srv.yaml:17:16: claim srv-stretch: missing: "
        "'Stretching before bed may help prevent them.'"
    ) in err
    # the region written for the article ends with the changed sentence: it is orphaned too
    assert (
        "data/sources/srv-article.yaml:16:5: source srv-article: region-not-found: "
        "'Night cramps Night cramps ... may help prevent them.'"
    ) in err
    assert "srv-calf" not in err
    assert "crampkg fetch --accept srv-article" in err

    # 3. accepting swaps the text in and edits only the sha256 line
    assert main(["fetch", "--accept", "srv-article", "--data", str(data)]) == 0
    assert (sources / "srv-article.txt").read_bytes() == staged
    assert not (sources / "srv-article.txt.new").exists()
    assert not (sources / "srv-article.fetch.json.new").exists()
    old_lines = yaml_before.splitlines(keepends=True)
    new_lines = (sources / "srv-article.yaml").read_bytes().splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == 1
    new_sha = hashlib.sha256(staged).hexdigest()
    assert new_lines[changed[0]] == f'  sha256: "{new_sha}"\n'.encode()
    rules = [(p.rule, str(p.location)) for p in validate(data).problems]
    assert rules == [
        ("region-not-found", "data/sources/srv-article.yaml:16:5"),
        ("quote-not-found", "data/claims/srv.yaml:17:16"),
    ]

    # 4. fetching the same text again changes nothing
    before = tree(data)
    assert fetch(data, "--id", "srv-article") == 0
    assert "is unchanged" in capsys.readouterr().err
    assert tree(data) == before


def test_refusals_before_any_request(minimal_copy, base, site, capsys):
    assert fetch(minimal_copy, f"{base}/article", "--id", "muscle-cramp") == 2
    assert "already used by the entity" in capsys.readouterr().err
    assert fetch(minimal_copy, f"{base}/article", "--id", "Bad_Id") == 2
    assert "is not a valid id" in capsys.readouterr().err
    assert fetch(minimal_copy, "--id", "test-article") == 2  # it has no url to re-fetch
    assert "has no `url`" in capsys.readouterr().err
    assert main(["fetch", "--accept", "test-article", "--data", str(minimal_copy)]) == 2
    assert "no candidate" in capsys.readouterr().err
    assert site.hits == Counter()


def test_write_all_rolls_back(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"old a")
    real = Path.replace

    def flaky(self: Path, target: Path) -> Path:
        if Path(target).name == "b.txt":
            raise OSError("disk full")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(OSError, match="disk full"):
        files.write_all({a: b"new a", b: b"new b"})
    assert a.read_bytes() == b"old a"
    assert not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temp files left


def test_refetch_of_a_snapshot_shared_by_two_sources(tmp_path):
    """The real corpus: an article and its reader comments share one snapshot."""
    import shutil
    from datetime import UTC, datetime

    from pipeline.fetch import snapshot
    from pipeline.fetch.charset import Decoded
    from pipeline.fetch.extract import extract_plain
    from pipeline.fetch.http import Fetched
    from pipeline.fetch.sourceyaml import Candidate

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parent.parent / "data", data)
    t = snapshot.target(data, "healthboard-cramp-causes-comments")
    assert [s.id for s in t.sources] == [
        "healthboard-cramp-causes-comments",
        "healthboard-cramp-causes",
    ]
    old = t.snapshot.read_text()
    new = old.replace("cramping of the calf and arches of the feet", "cramping of the calf")
    url = "https://example.test/cramps"
    fetched = Fetched(url, url, (), 200, "text/plain", "utf-8", new.encode(), 1)
    when = datetime(2025, 1, 2, tzinfo=UTC)
    c = Candidate(t.source_id, fetched, Decoded(new, "utf-8", "header"), extract_plain(new), when)
    staged = snapshot.store(t, c)
    assert isinstance(staged, snapshot.Staged)
    assert [(o.claim, str(o.where), o.status, o.was_found) for o in staged.orphans] == [
        (
            "c002c-calf-foot-arch-cramping",
            "data/claims/healthboard-cramp-causes-comments.yaml:10:16",
            "missing",
            True,
        )
    ]
    yamls = {p: p.read_bytes() for p in (data / "sources").glob("002_*.yaml")}
    done = snapshot.accept(data, "healthboard-cramp-causes")
    assert sorted(done.yaml_files) == sorted(yamls)
    for path, before in yamls.items():
        after = path.read_bytes()
        assert after == before.replace(
            b"9559da94e5c308f9e1076e0b4057de272cc7fa20e1600ed624fe03f388bcb4fd",
            done.sha256.encode(),
        )
    assert t.snapshot.read_bytes() == c.data
