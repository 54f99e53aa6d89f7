"""A hostile HTTP server on 127.0.0.1 for the fetch tests: stalls, trickles, bombs, floods.

One thread per connection (ThreadingHTTPServer on a free port). It counts the hits and the
body bytes it managed to send per path, and each endless answer stops when the client hangs
up (a write fails) or when the test ends (`release`).
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.fetch import http, snapshot

PAGE = b"<!doctype html><html lang='en'><title>Fine</title><p>A fine page about cramps.</p>"
MiB = 1 << 20
TEN_GB = 10 * 1024**3
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
ZLIB_HEADER = b"\x78\xda"


def _zeros_block() -> bytes:
    """1 MiB of zeros as about 1 KB of raw deflate; the full flush makes it repeatable."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH) == block
    return block


BLOCK = _zeros_block()


class Site:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body bytes written, per path
        self.done: dict[str, threading.Event] = {}
        self.release = threading.Event()
        self.lock = threading.Lock()

    def finished(self, path: str, timeout: float = 5.0) -> bool:
        """Wait until the answer on `path` has ended (the client hung up)."""
        event = self.done.get(path)
        return event is not None and event.wait(timeout)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # for chunked answers
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def head(self, status: int, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()

    def body(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        with self.server.site.lock:
            self.server.site.sent[urlsplit(self.path).path] += len(data)

    def endless(self, piece: Callable[[], bytes], pause: float = 0.0) -> None:
        """Write pieces until the client hangs up or the test ends."""
        try:
            while not self.server.site.release.is_set():
                self.body(piece())
                if pause:
                    time.sleep(pause)
        except OSError:
            pass

    def do_GET(self) -> None:
        site = self.server.site
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        with site.lock:
            site.hits[path] += 1
            site.done[path] = threading.Event()
        try:
            self.route(path, query)
        finally:
            site.done[path].set()

    def route(self, path: str, query: dict[str, list[str]]) -> None:
        site = self.server.site
        if path == "/article":
            self.head(200, Content_Length=str(len(PAGE)))
            self.body(PAGE)
        elif path == "/redirect":  # /redirect?to=URL
            self.head(302, Location=query["to"][0], Content_Length="0")
        elif path == "/loop/self":
            self.head(302, Location="/loop/self", Content_Length="0")
        elif path in ("/loop/a", "/loop/b"):
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            self.head(301, Location=other, Content_Length="0")
        elif path.startswith("/chain/"):
            self.head(307, Location=f"/chain/{int(path.rsplit('/', 1)[1]) + 1}", Content_Length="0")
        elif path == "/stall/body":  # headers and a little, then nothing
            self.head(200, Content_Length="100000")
            self.body(b"<p>The body starts, then")
            site.release.wait(10)
        elif path == "/stall/headers":  # the request is read, no answer ever comes
            site.release.wait(10)
        elif path == "/trickle":  # one byte every 50 ms: each read in time, never done
            self.head(200, Content_Length="100000")
            self.endless(lambda: b"x", pause=0.05)
        elif path == "/trickle/gzip-comment":  # a gzip header whose comment never ends
            self.head(200, Content_Encoding="gzip")
            self.body(b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x02\xff")  # FCOMMENT set
            self.endless(lambda: b"a", pause=0.05)
        elif path == "/bomb/gzip":  # endless zeros, 1 MiB per KB on the wire
            self.head(200, Content_Encoding="gzip")
            self.body(GZIP_HEADER)
            self.endless(lambda: BLOCK)
        elif path == "/bomb/deflate":
            self.head(200, Content_Encoding="deflate")
            self.body(ZLIB_HEADER)
            self.endless(lambda: BLOCK)
        elif path == "/bomb/gzip-gzip":  # a bomb inside a bomb
            outer = zlib.compressobj(9, zlib.DEFLATED, 31)
            self.head(200, Content_Encoding="gzip, gzip")
            self.body(outer.compress(GZIP_HEADER))
            self.endless(lambda: outer.compress(BLOCK * 16) + outer.flush(zlib.Z_SYNC_FLUSH))
        elif path == "/huge/content-length":  # says 10 GB, and tries to send them
            self.head(200, Content_Length=str(TEN_GB))
            self.endless(lambda: bytes(64 * 1024))
        elif path == "/huge/content-length-gzip":  # says 10 GB compressed: no early refusal
            self.head(200, Content_Length=str(TEN_GB), Content_Encoding="gzip")
            self.body(GZIP_HEADER)
            self.endless(lambda: BLOCK)
        elif path == "/huge/no-length":  # no length at all: only counting can stop it
            self.head(200)
            self.endless(lambda: b"<p>" + bytes(64 * 1024) + b"</p>")
        elif path == "/huge/chunked":
            self.head(200, Transfer_Encoding="chunked")
            chunk = b"%x\r\n%s\r\n" % (64 * 1024, bytes(64 * 1024))
            self.endless(lambda: chunk)
        elif path == "/pdf":
            self.head(200, "application/pdf", Content_Length="8")
            self.body(b"%PDF-1.7")
        else:
            self.head(404, "text/plain", Content_Length="8")
            self.body(b"not here")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


@contextmanager
def serve(
    handler: type[BaseHTTPRequestHandler] | None = None, site: Site | None = None
) -> Iterator[tuple[str, Site]]:
    """The server's base URL (`http://127.0.0.1:PORT`) and its counters, while it runs.

    The hostile `Handler` by default; other tests pass their own handler and `Site` subclass."""
    httpd = Server(("127.0.0.1", 0), handler or Handler)
    httpd.site = site if site is not None else Site()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.site
    finally:
        httpd.site.release.set()
        httpd.shutdown()
        httpd.server_close()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, hidden temp files included."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def refused(data: Path, url: str, p: http.Policy) -> str:
    """Fetch `url` as the CLI does; it must fail and write nothing; returns the reason."""
    before = tree(data)
    t = snapshot.target(data, "hostile")
    with pytest.raises(http.FetchError) as info:
        snapshot.fetch(t, url, p, lambda: datetime(2025, 1, 2, tzinfo=UTC))
    assert str(info.value).startswith(f"cannot fetch {url}: ")
    assert tree(data) == before
    return info.value.reason
