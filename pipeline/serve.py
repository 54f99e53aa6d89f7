"""`crampkg serve`: the built graph over the SPARQL 1.1 Protocol, with the Oxigraph server.

The `oxigraph` binary comes from the `oxigraph` package on PyPI. `dist/graph.nt` is loaded into
a fresh store in a temporary folder (`crampkg-store-*` in the system's temp dir), which the
read-only server (`oxigraph serve-read-only`) then serves with a query timeout; the folder is
removed when the server stops. A new store on every start means the server never answers from
an older build, and loading the graph takes well under a second.

Oxigraph listens on a private loopback port; people reach the front proxy
(`pipeline.serveproxy`), which refuses updates, Graph Store writes, `SERVICE` and bodies over
`--max-body`, and forwards the rest. Oxigraph itself would execute `SERVICE` (it calls the
endpoint a query names), so on Linux it also runs without network access (`pipeline.nonet`):
it may accept connections, never open one. Endpoints (Oxigraph's layout): `/query` (SPARQL
query), `/store` (Graph Store, read only), and the query UI at `/`.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import requests

from pipeline import nonet
from pipeline.serveproxy import DEFAULT_MAX_BODY, ProxyServer, Upstream

READY_TIMEOUT = 30.0  # seconds to wait for the server to answer its first query


class ServeError(Exception):
    """The server could not be started; the message says why, for people."""


def oxigraph_binary() -> Path:
    """The `oxigraph` binary installed with this Python (venv first), else the one on PATH."""
    here = Path(sys.executable).parent / "oxigraph"
    if here.is_file():
        return here
    found = shutil.which("oxigraph")
    if found:
        return Path(found)
    raise ServeError(
        "the `oxigraph` command was not found; install it with `pip install oxigraph` "
        "(it is a dependency of crampkg)"
    )


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def load_store(nt: Path, store: Path, oxigraph: Path | None = None) -> None:
    """`oxigraph load`: all of `nt` into the store folder `store`, atomically."""
    binary = oxigraph or oxigraph_binary()
    done = subprocess.run(
        [str(binary), "load", "--location", str(store), "--file", str(nt)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise ServeError(f"`oxigraph load` could not load {nt}: {detail[0]}")


def _engine_setup() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: stop the server if crampkg itself is killed, and deny it the network."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
    nonet.deny_network()


def _sandboxed(pid: int) -> bool:
    """Does the process run under a seccomp filter (Linux's /proc says mode 2)?"""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            return any(line.split() == ["Seccomp:", "2"] for line in status)
    except OSError:
        return False


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_engine(
    binary: Path, store: Path, timeout_s: int, attempts: int = 3
) -> tuple[subprocess.Popen[bytes], int]:
    """`oxigraph serve-read-only` on a free private loopback port, answering; and that port.

    A port found free may be taken before Oxigraph binds it: then try another."""
    for attempt in range(attempts):
        port = _free_loopback_port()
        command = [str(binary), "serve-read-only", "--location", str(store)]
        command += ["--bind", f"127.0.0.1:{port}", "--timeout-s", str(timeout_s)]
        process = subprocess.Popen(command, preexec_fn=_engine_setup)  # noqa: PLW1509
        try:
            wait_until_ready(f"http://127.0.0.1:{port}", process, READY_TIMEOUT)
            return process, port
        except ServeError:
            _stop(process)
            if attempt == attempts - 1:
                raise
        except BaseException:
            _stop(process)
            raise
    raise AssertionError("unreachable")


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll `url/query` with `ASK {}` until it answers, the server exits, or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(
                f"the Oxigraph server stopped at start (exit code {process.returncode}); "
                "is the port already in use?"
            )
        with contextlib.suppress(requests.RequestException):
            answer = requests.get(f"{url}/query", params={"query": "ASK {}"}, timeout=2)
            if answer.status_code == 200:
                return
        time.sleep(0.1)
    raise ServeError(f"the Oxigraph server did not answer at {url} within {timeout:g} s")


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so the server and the store are cleaned up."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def serve(
    dist: Path,
    host: str = "127.0.0.1",
    port: int = 7878,
    timeout_s: int = 30,
    announce: Callable[[str], None] = lambda message: None,
    max_body: int = DEFAULT_MAX_BODY,
) -> int:
    """Load `dist/graph.nt` into a temporary store and serve it read-only until stopped.

    Returns the engine's exit code, or 0 when it was stopped by Ctrl+C or SIGTERM.
    """
    nt = dist / "graph.nt"
    if not nt.is_file():
        raise ServeError(f"{nt} not found: run `crampkg build` first (or pass --dist)")
    if timeout_s < 1:
        raise ServeError("the query timeout must be at least 1 second")
    if max_body < 1:
        raise ServeError("the request body cap must be at least 1 byte")
    binary = oxigraph_binary()
    url = base_url(host, port)
    try:  # first, so that a port in use is reported before anything is loaded
        front = ProxyServer((host, port), max_body)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(front.server_close)
        cleanup.enter_context(_stop_on_sigterm())
        tmp = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="crampkg-store-"))
        store = Path(tmp) / "store"
        announce(f"loading {nt} into a temporary store in {store} (removed on exit)")
        try:
            load_store(nt, store, binary)
            process, engine_port = start_engine(binary, store, timeout_s)
        except KeyboardInterrupt:
            announce("stopping the server")
            return 0
        cleanup.callback(_stop, process)
        front.upstream = Upstream("127.0.0.1", engine_port, timeout_s + 30.0)
        threading.Thread(target=front.serve_forever, name="crampkg-serve", daemon=True).start()
        cleanup.callback(front.shutdown)  # first out: the proxy, Oxigraph, the store, the port
        network = "denied" if _sandboxed(process.pid) else "not sandboxed on this system"
        announce(
            f"serving {nt} read-only at {url}/ (SPARQL endpoint {url}/query, query timeout "
            f"{timeout_s} s, request bodies up to {max_body} bytes; the Oxigraph engine behind "
            f"it listens on 127.0.0.1:{engine_port}, network access {network}); "
            "press Ctrl+C to stop"
        )
        try:
            return process.wait()
        except KeyboardInterrupt:
            announce("stopping the server")
            return 0
    raise AssertionError("unreachable")  # mypy: ExitStack may swallow exceptions
