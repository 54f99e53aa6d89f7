"""Issue 9, case 10: `crampkg fetch` against hostile servers on 127.0.0.1 (tests/loopback.py).

A stalled body, a gzip bomb, a 10 GB body and a redirect loop are each refused with one line
naming the URL and the reason, within a bounded time and memory, and nothing is written: the
data folder is byte-identical afterwards (temp files included), for a new source and for a
re-fetch. Redirects into private address space are in tests/test_fetch_hosts.py; HTML where
CSL-JSON was expected in tests/test_refs.py.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.fetch import http
from tests.loopback import TEN_GB, Site, refused, serve, tree

CAP = 1_000_000  # --max-bytes in these tests
LOOPBACK = frozenset({"127.0.0.1"})  # the test server; non-public hosts are refused by default


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Site]]:
    with serve() as running:
        yield running


@pytest.fixture
def base(server: tuple[str, Site]) -> str:
    server[1].hits.clear()
    server[1].sent.clear()
    return server[0]


@pytest.fixture
def site(server: tuple[str, Site]) -> Site:
    return server[1]


def policy(**limits: float) -> http.Policy:
    return http.Policy(
        connect_timeout=0.5,
        read_timeout=limits.get("read_timeout", 0.5),
        total_timeout=limits.get("total_timeout", 1.0),
        retries=1,
        backoff=0.01,
        max_bytes=CAP,
        allow_private_hosts=LOOPBACK,
    )


# --------------------------------------------------------------------------- stalled body

STALLS = {
    "headers-then-silence": ("/stall/body", "the body stalled: nothing arrived for 0.5 s"),
    "no-headers": ("/stall/headers", "sent no response within the read timeout of 0.5 s"),
    "trickle-past-the-deadline": ("/trickle", "the body took longer than 1 s"),
    "gzip-header-that-never-ends": ("/trickle/gzip-comment", "the body took longer than 1 s"),
}


@pytest.mark.parametrize("case", list(STALLS))
def test_stalled_body_refused(case: str, minimal_copy: Path, base: str) -> None:
    path, reason = STALLS[case]
    started = time.monotonic()
    assert reason in refused(minimal_copy, base + path, policy())
    # the server would hold on for 10 s, or forever: cut at the 0.5 s read timeout or at the
    # 1 s total deadline (a trickle keeps every read within the timeout), and not retried
    assert time.monotonic() - started < 2.5


# --------------------------------------------------------------- gzip bomb, 10 GB body


def bounded(data: Path, url: str) -> tuple[str, float, int]:
    """Refused reason, seconds and peak Python memory of a fetch that must be cut at CAP."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        reason = refused(data, url, policy(total_timeout=30))
        return reason, time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", ["gzip", "deflate", "gzip-gzip"])
def test_gzip_bomb_refused(case: str, minimal_copy: Path, base: str, site: Site) -> None:
    """The bombs are endless (1 MiB of zeros per KB, forever): only a cap can end them."""
    reason, seconds, peak = bounded(minimal_copy, f"{base}/bomb/{case}")
    assert reason.startswith(f"the body is larger than the cap of {CAP} bytes after decompression")
    assert seconds < 3
    # the body so far, its chunks and the decoders (measured: 1.5 MB, 4.8 MB for the nested
    # bomb); expanding an endless bomb would never end
    assert peak < 10 * CAP
    assert site.finished(f"/bomb/{case}")  # the client hung up: the server's writes failed
    assert site.sent[f"/bomb/{case}"] < 64 * 1024 * 1024  # compressed bytes, socket buffers


HUGE = {
    "content-length-10GB": ("/huge/content-length", "the body is larger than the cap"),
    "content-length-10GB-gzip": ("/huge/content-length-gzip", "the body is larger than the cap"),
    "no-length-endless": ("/huge/no-length", "the body is larger than the cap"),
    "chunked-endless": ("/huge/chunked", "the body is larger than the cap"),
}


@pytest.mark.parametrize("case", list(HUGE))
def test_10GB_body_refused(case: str, minimal_copy: Path, base: str, site: Site) -> None:
    path, reason = HUGE[case]
    got, seconds, peak = bounded(minimal_copy, base + path)
    assert got.startswith(f"{reason} of {CAP} bytes")
    assert seconds < 3 and peak < 10 * CAP
    assert site.finished(path)
    # what the server got out before the client hung up: socket buffers, not gigabytes
    assert site.sent[path] < 64 * 1024 * 1024 < TEN_GB


def test_10GB_content_length_is_refused_before_reading(minimal_copy: Path, base: str) -> None:
    reason = refused(minimal_copy, f"{base}/huge/content-length", policy())
    assert reason == (
        f"the body is larger than the cap of {CAP} bytes; raise --max-bytes if the page is genuine"
    )


# --------------------------------------------------------------------------- redirect loop

LOOPS = {
    "to-itself": ("/loop/self", "redirect loop ({base}/loop/self -> {base}/loop/self)"),
    "two-pages": (
        "/loop/a",
        "redirect loop ({base}/loop/a -> {base}/loop/b -> {base}/loop/a)",
    ),
    "endless-chain": ("/chain/0", "more than 5 redirects (last to {base}/chain/6)"),
}


@pytest.mark.parametrize("case", list(LOOPS))
def test_redirect_loop_refused(case: str, minimal_copy: Path, base: str, site: Site) -> None:
    path, reason = LOOPS[case]
    assert refused(minimal_copy, base + path, policy()) == reason.format(base=base)
    assert sum(site.hits.values()) <= 6  # each hop asked once, no retries


# ------------------------------------------------------------------- the command line


CLI_CASES = {
    "stalled-body": ("/stall/body", "the body stalled: nothing arrived for 0.5 s"),
    "gzip-bomb": ("/bomb/gzip", f"the body is larger than the cap of {CAP} bytes after"),
    "10GB-body": ("/huge/content-length", f"the body is larger than the cap of {CAP} bytes;"),
    "redirect-loop": ("/loop/a", "redirect loop ("),
    "wrong-content-type": ("/pdf", "the content type is application/pdf; accepted: text/html"),
    "not-found": ("/missing", "HTTP 404 Not Found"),
}


@pytest.mark.parametrize("source_id", ["hostile", "test-article"], ids=["new", "refetch"])
@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_refusal_exits_2_and_writes_nothing(
    case: str, source_id: str, minimal_copy: Path, base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, reason = CLI_CASES[case]
    before = tree(minimal_copy)
    args = ["fetch", base + path, "--id", source_id, "--data", str(minimal_copy)]
    args += ["--timeout", "0.5", "--retries", "0", "--max-bytes", str(CAP)]
    assert main([*args, "--allow-private-host", "127.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"crampkg: cannot fetch {base}{path}: {reason}")
    assert err.rstrip().endswith("; nothing was written") and err.count("\n") == 1
    assert tree(minimal_copy) == before
