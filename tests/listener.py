"""A real TCP server on 127.0.0.1 that records every connection it accepts.

Pointing a remote fetch (SERVICE, owl:imports, a JSON-LD context, a base IRI) at it proves that
nothing connects, whatever the language of the code that would connect: a Python socket hook
cannot see the Rust code of pyoxigraph or of the Oxigraph server, this listener does. It
answers any request with an empty SPARQL JSON result, so a client that does connect succeeds
and the test sees the connection rather than a timeout.
"""

from __future__ import annotations

import socket
import threading
import time

ANSWER = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"r"}}]}}'


class RecordingListener:
    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port: int = self._socket.getsockname()[1]
        self.requests: list[bytes] = []  # one per accepted connection, appended at accept time
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def connections(self, settle: float = 0.3) -> int:
        """Connections so far, after `settle` seconds for any still on their way."""
        time.sleep(settle)
        with self._lock:
            return len(self.requests)

    def close(self) -> None:
        self._socket.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:  # closed
                return
            with self._lock:
                index = len(self.requests)
                self.requests.append(b"")
            threading.Thread(target=self._answer, args=(conn, index), daemon=True).start()

    def _answer(self, conn: socket.socket, index: int) -> None:
        with conn:
            conn.settimeout(2)
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    piece = conn.recv(4096)
                    if not piece:
                        break
                    data += piece
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
                head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ANSWER)
                conn.sendall(head + ANSWER)
            except OSError:
                pass
            with self._lock:
                self.requests[index] = data
