"""The front of `crampkg serve`: a small HTTP proxy, the only part people reach.

`oxigraph serve-read-only` executes `SERVICE` (it connects to any endpoint a query names) and
reads request bodies up to 128 MiB, with no option to change either. So it listens on a private
loopback port, and this proxy (standard library, one thread per connection, at most
MAX_CLIENTS at once) stands before it:

- it forwards GET and HEAD of the query UI (`/` and its assets), of `/query` and of the
  read-only Graph Store (`/store`), and POST of `/query` (the query in the URL, in a form body
  or as an `application/sparql-query` body);
- it refuses, with 403 and a plain-text reason: updates (`/update`, an `update` parameter, an
  `application/sparql-update` body), Graph Store writes (any other method or path), and any
  query that may hold `SERVICE` (every parameter and the body are checked,
  `pipeline.sparqlguard`);
- it caps the request target (414) and the body (413: refused from its Content-Length before
  any of it is read, or as soon as a chunked body passes the cap), and wants a length (411);
- it streams answers back as they come, chunked when Oxigraph gives no length, and an answer
  cut off by the query timeout arrives as a broken transfer, never as a complete short one
  (Oxigraph itself ends it cleanly after an error line: the proxy withholds the last chunk);
- it drops a client that sends or reads nothing for CLIENT_TIMEOUT seconds.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from pipeline.sparqlguard import find_service

DEFAULT_MAX_BODY = 1 << 20  # bytes of a POST body
MAX_TARGET = 32 * 1024  # bytes of path and query string: a longer query goes in a POST body
MAX_CLIENTS = 256  # connections served at once; more get 503 at once (Oxigraph takes 128/core)
CLIENT_TIMEOUT = 30.0  # seconds a client may stay silent, or not read, before it is dropped
CHUNK = 64 * 1024
READ_PATHS = frozenset({"/", "/query", "/store", "/yasgui.min.css", "/yasgui.min.js", "/logo.svg"})
FORWARDED = ("Accept", "Accept-Language", "Content-Type", "User-Agent")  # request headers
NOT_RELAYED = frozenset(  # hop-by-hop headers, and those this server writes itself
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
    | {"proxy-authenticate", "proxy-authorization", "content-length", "server", "date"}
)
QUERY_TYPE, FORM_TYPE = "application/sparql-query", "application/x-www-form-urlencoded"
UPDATE_TYPE = "application/sparql-update"
READ_ONLY = "this SPARQL endpoint is read-only: updates and Graph Store writes are refused"
SERVICE = (
    "SERVICE (a call to another SPARQL endpoint) is refused (line {}, column {}): this "
    "endpoint answers from its own graph only and never opens a network connection"
)
CANCELLED = b"The SPARQL operation has been cancelled"  # Oxigraph 0.5, at its query timeout
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_LINGER_BYTES, _LINGER_SECONDS = 64 << 20, 5.0


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int
    timeout: float  # seconds to wait for Oxigraph: its own query timeout, plus a margin


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True  # a stream still running never holds up the shutdown
    request_queue_size = 256  # a burst of connections waits in the kernel rather than failing

    def __init__(self, address: tuple[str, int], max_body: int = DEFAULT_MAX_BODY) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.upstream = Upstream("127.0.0.1", 0, 60.0)  # set once Oxigraph listens
        self.max_body = max_body
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__(address, ProxyHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (DNS): not wanted, not needed
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_plain(503, "too many connections at once; try again", "close"))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: give the slot back
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client going away is not news
            super().handle_error(request, client_address)


class ProxyHandler(BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.1"
    server_version = "crampkg-serve"
    timeout = CLIENT_TIMEOUT

    def version_string(self) -> str:
        return self.server_version  # not the Python version

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_GET

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # answers are not logged; refusals and errors are

    def handle_expect_100(self) -> bool:
        """`Expect: 100-continue` (curl, for big bodies): refuse one over the cap unsent."""
        if self._declared_length() > self.server.max_body:
            self._pending = True
            self._refuse(413, self._too_large())
            return False
        return super().handle_expect_100()

    def _serve(self) -> None:
        has_body = bool(self.headers.get_all("Transfer-Encoding")) or self._declared_length() > 0
        self._pending = has_body  # body bytes not read yet: close after refusing
        try:
            target = self._check_target()
            self._check_route(target.partition("?")[0], has_body)
            body = self._read_body() if self.command == "POST" else b""
            self._check_query(target, body)
        except Refused as exc:
            self._refuse(exc.status, str(exc))
            return
        self._forward(target, body)

    def _declared_length(self) -> int:
        lengths = self.headers.get_all("Content-Length") or []
        found = _DIGITS.fullmatch(lengths[0].strip()) if lengths else None
        return int(found.group()) if found else (1 if lengths else 0)

    def _too_large(self) -> str:
        return f"the request body is over {self.server.max_body} bytes (serve --max-body)"

    def _check_target(self) -> str:
        target = self.path
        if len(target) > MAX_TARGET:
            raise Refused(414, f"the URL is over {MAX_TARGET} bytes: send a long query by POST")
        bad = any(ord(c) < 0x21 or ord(c) > 0x7E for c in target) or "#" in target
        if bad or not target.startswith("/") or target.startswith("//"):
            raise Refused(400, "the request target must be a plain path (ASCII, no fragment)")
        if any("\r" in value or "\n" in value for value in self.headers.values()):
            raise Refused(400, "header lines folded over several lines are not taken")
        return target

    def _check_route(self, path: str, has_body: bool) -> None:
        if self.command in ("GET", "HEAD"):
            if has_body:
                raise Refused(400, f"a {self.command} request carries no body")
            if path in READ_PATHS or path.startswith("/store/"):
                return
            if path == "/update":
                raise Refused(403, READ_ONLY)
            raise Refused(404, f"nothing at {path}: the SPARQL endpoint is /query")
        if not (self.command == "POST" and path == "/query"):
            raise Refused(403, f"{READ_ONLY}; queries go to /query (GET or POST)")

    def _read_body(self) -> bytes:
        if (self.headers.get("Content-Encoding") or "identity").strip().lower() != "identity":
            raise Refused(415, "compressed request bodies are not taken")
        codings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if codings:
            if lengths:
                raise Refused(400, "both Transfer-Encoding and Content-Length were given")
            if [c.strip().lower() for c in codings] != ["chunked"]:
                raise Refused(501, "only the chunked transfer coding is taken")
            return self._read_chunked()
        if not lengths:
            raise Refused(411, "a POST request needs a Content-Length (or a chunked body)")
        if len({v.strip() for v in lengths}) != 1 or not _DIGITS.fullmatch(lengths[0].strip()):
            raise Refused(400, "the Content-Length is not a number")
        size = int(lengths[0])
        if size > self.server.max_body:
            raise Refused(413, self._too_large())
        body = self.rfile.read(size)
        if len(body) != size:
            raise ConnectionAbortedError("the client closed the connection mid-body")
        self._pending = False
        return body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1026)
            size = _HEX.fullmatch(line.split(b";", 1)[0].strip())
            if not line.endswith(b"\n") or not size:
                raise Refused(400, "malformed chunked body")
            length = int(size.group(), 16)
            if length == 0:
                break
            if len(body) + length > self.server.max_body:
                raise Refused(413, self._too_large())
            piece = self.rfile.read(length)
            if len(piece) != length:
                raise ConnectionAbortedError("the client closed the connection mid-body")
            body += piece
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise Refused(400, "malformed chunked body")
        for _ in range(64):  # trailer fields: read and ignored
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                self._pending = False
                return bytes(body)
        raise Refused(400, "too many trailer fields")

    def _check_query(self, target: str, body: bytes) -> None:
        params = _params(target.partition("?")[2])
        texts = [value for _, value in params]
        if self.command == "POST":
            types = self.headers.get_all("Content-Type") or []
            kind = types[0].split(";")[0].strip().lower() if len(types) == 1 else ""
            if kind == UPDATE_TYPE:
                raise Refused(403, READ_ONLY)
            if kind == FORM_TYPE:
                if not body.isascii():
                    raise Refused(400, "a form body must be percent-encoded ASCII")
                form = _params(body.decode("ascii"))
                params += form
                texts += [value for _, value in form]
            elif kind == QUERY_TYPE:
                try:
                    texts.append(body.decode("utf-8"))
                except UnicodeDecodeError:
                    raise Refused(400, "the query is not valid UTF-8") from None
            else:
                raise Refused(415, f"POST /query takes {QUERY_TYPE} or {FORM_TYPE}")
            texts.append(body.decode("utf-8", "replace"))  # the raw body too, whatever it is
        if any(key == "update" for key, _ in params):
            raise Refused(403, READ_ONLY)
        for text in texts:
            found = find_service(text)
            if found:
                raise Refused(403, SERVICE.format(*found))

    def _forward(self, target: str, body: bytes) -> None:
        upstream = self.server.upstream
        engine = http.client.HTTPConnection(upstream.host, upstream.port, timeout=upstream.timeout)
        headers = {name: value for name in FORWARDED if (value := self.headers.get(name))}
        try:
            engine.request(self.command, target, body if self.command == "POST" else None, headers)
            answer = engine.getresponse()
        except TimeoutError:  # Oxigraph's timeout does not stop every query (e.g. a big sort)
            engine.close()
            self._refuse(504, "the query did not finish in time (serve --timeout)")
            return
        except (OSError, http.client.HTTPException, ValueError):
            engine.close()
            self._refuse(502, "the query engine did not answer; try again")
            return
        try:
            self._relay(answer)
        finally:
            engine.close()

    def _relay(self, answer: http.client.HTTPResponse) -> None:
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in NOT_RELAYED:
                self.send_header(name, value)
        length = (answer.getheader("Content-Length") or "").strip()
        if self.command == "HEAD" or answer.status in (204, 304):
            if _DIGITS.fullmatch(length):
                self.send_header("Content-Length", length)
            self.end_headers()
            return
        chunked = not _DIGITS.fullmatch(length) and self.request_version == "HTTP/1.1"
        if _DIGITS.fullmatch(length):
            self.send_header("Content-Length", length)
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:  # an HTTP/1.0 client: the end of the body is the end of the connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        remaining, broken, tail = int(length) if _DIGITS.fullmatch(length) else -1, False, b""
        while remaining != 0:
            try:
                piece = answer.read1(CHUNK if remaining < 0 else min(CHUNK, remaining))
            except (OSError, http.client.HTTPException):  # e.g. a chunked answer cut off
                piece, broken = b"", True
            if not piece:
                broken = broken or remaining > 0
                break
            remaining -= len(piece) if remaining > 0 else 0
            tail = (tail + piece)[-len(CANCELLED) - 2 :]
            self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
        # Oxigraph ends an answer stopped by its timeout with this line and a clean end: a
        # client would take it for a whole answer (in CSV, for one more row). Break it.
        broken = broken or tail.rstrip().endswith(CANCELLED)
        if broken:
            self.close_connection = True  # and no last chunk: the client sees a cut transfer
        elif chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _refuse(self, status: int, message: str) -> None:
        self.log_message('"%.200s" refused: %d %s', self.requestline, status, message)
        close = self._pending or self.close_connection
        self.wfile.write(_plain(status, message, "close" if close else None, self.command))
        if close:
            self.close_connection = True
            self._linger()

    def _linger(self) -> None:
        """Let a client still sending its body read the refusal rather than a reset.

        Closing a socket with unread input resets the connection, and a client busy sending
        may never see the answer; so stop writing and discard input for a bounded while."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            deadline, seen = time.monotonic() + _LINGER_SECONDS, 0
            while seen < _LINGER_BYTES and time.monotonic() < deadline:
                data = self.connection.recv(CHUNK)
                if not data:
                    break
                seen += len(data)


def _plain(status: int, message: str, connection: str | None, method: str = "GET") -> bytes:
    """A whole plain-text response, headers and body."""
    body = (message + "\n").encode("utf-8")
    reason = http.client.responses.get(status, "Error")
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/plain; charset=utf-8"]
    head += [f"Content-Length: {len(body)}", "Server: crampkg-serve"]
    head += [f"Connection: {connection}"] if connection else []
    head += ["Retry-After: 1"] if status == 503 else []
    return "\r\n".join([*head, "", ""]).encode("latin-1") + (b"" if method == "HEAD" else body)


def _params(text: str) -> list[tuple[str, str]]:
    """Name and value of each `&`-separated parameter, decoded the way Oxigraph decodes them."""
    try:
        return parse_qsl(text, keep_blank_values=True, errors="replace", max_num_fields=1000)
    except ValueError:
        raise Refused(400, "too many parameters") from None
