"""The one HTTP GET behind `crampkg fetch` and `crampkg refs resolve`, hardened for the open web.

- connect and read timeouts, plus a total deadline for the body (a server that trickles one
  byte per read would otherwise never time out);
- bounded retries with exponential backoff on 429 and 5xx and on failed connections, honouring
  `Retry-After` (seconds or an HTTP date) up to a cap; a stalled read is not retried;
- redirects followed here, not by requests, so every hop is counted (at most 5), checked for
  loops and for its scheme (only http and https, on the first URL and on every hop);
- only public addresses, on the first URL and on every hop, and checked again on the
  connected socket (pipeline.fetch.hosts): no loopback, private, link-local or metadata
  address unless the host is allowed by name (`Policy.allow_private_hosts`);
- a content-type allowlist, checked before the body is read;
- a size cap on the *decompressed* body, enforced while streaming, so a gzip bomb is cut off
  after `max_bytes` instead of filling memory; a watchdog ends a body that trickles in past
  the total deadline (each read on time, but never finishing).

Every failure is a `FetchError` naming the URL and the reason; nothing here prints or writes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from pipeline import __version__
from pipeline.fetch import hosts
from pipeline.fetch.limits import DEFAULT_MAX_BYTES

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FetchError(Exception):
    """A fetch that failed; `str()` names the URL and the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"cannot fetch {url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Policy:
    """Limits of one fetch. `sleep`, `clock` and `monotonic` are injectable for tests."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # for the whole body, across all reads
    retries: int = 3  # extra attempts after the first, per URL of the redirect chain
    backoff: float = 1.0  # first wait in seconds; doubles on every retry
    max_wait: float = 60.0  # never sleep longer than this, whatever Retry-After asks
    max_redirects: int = 5
    max_bytes: int = DEFAULT_MAX_BYTES  # decompressed
    accept: str = PAGE_ACCEPT
    content_types: tuple[str, ...] = PAGE_TYPES
    user_agent: str = f"crampkg/{__version__} (source snapshot for curation)"
    # Hosts fetched even though they are (or resolve to) loopback, private, link-local...
    # addresses; matched as written in the URL, on the first URL and on every redirect.
    allow_private_hosts: frozenset[str] = frozenset()
    resolve: hosts.Resolver | None = None  # None: the system resolver (getaddrinfo)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Fetched:
    """A successful response: status 200, an allowed content type, the whole body."""

    url: str  # as asked for
    final_url: str  # after redirects
    redirects: tuple[str, ...]  # every hop after `url`, in order
    status: int
    media_type: str  # lower-case, without parameters: "text/html"
    charset: str | None  # from the Content-Type header, if any
    body: bytes  # decompressed
    attempts: int  # requests sent, retries and redirects included


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """`text/html; charset="UTF-8"` -> ("text/html", "UTF-8")."""
    if not value:
        return "", None
    media, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip("\"'"):
            charset = val.strip().strip("\"'")
    return media.strip().lower(), charset


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def check_url(asked: str, target: str, redirect: bool = False) -> None:
    """Only absolute http(s) URLs with a host, on the first request and on every hop."""
    parts = urlsplit(target)
    what = f"it redirects to {target}, which" if redirect else "the URL"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"uses the scheme {parts.scheme}" if parts.scheme else "has no scheme"
        raise FetchError(asked, f"{what} {scheme}; only http and https URLs are fetched")
    if not parts.hostname:
        raise FetchError(asked, f"{what} has no host name")


def get(url: str, policy: Policy | None = None, session: requests.Session | None = None) -> Fetched:
    """GET `url` within `policy`, or raise FetchError.

    A given `session` gets crampkg's guarded adapters mounted for http:// and https://.
    """
    p = policy or Policy()
    own = session is None
    s = session or requests.Session()
    allowed = frozenset(hosts.normalise(h) for h in p.allow_private_hosts)
    for prefix in ("http://", "https://"):
        s.mount(prefix, hosts.GuardedAdapter(allowed))
    try:
        return _get(s, url, p)
    finally:
        if own:
            s.close()


def _get(s: requests.Session, url: str, p: Policy) -> Fetched:
    check_url(url, url)
    current, attempts = url, 0
    hops: list[str] = []
    seen = {urldefrag(url).url}
    while True:
        resp, sent = _send(s, url, current, p)
        attempts += sent
        code = resp.status_code
        if code in REDIRECTS:
            location = resp.headers.get("Location", "").strip()
            resp.close()
            if not location:
                raise FetchError(url, f"HTTP {code} from {current} without a Location header")
            nxt = urljoin(current, location)
            check_url(url, nxt, redirect=True)
            if urldefrag(nxt).url in seen:
                chain = " -> ".join([url, *hops, nxt])
                raise FetchError(url, f"redirect loop ({chain})")
            if len(hops) >= p.max_redirects:
                raise FetchError(url, f"more than {p.max_redirects} redirects (last to {nxt})")
            hops.append(nxt)
            seen.add(urldefrag(nxt).url)
            current = nxt
            continue
        at = f" (at {current})" if hops else ""
        if code != 200:
            resp.close()
            raise FetchError(url, f"HTTP {code} {resp.reason or ''}".rstrip() + at)
        media, charset = parse_content_type(resp.headers.get("Content-Type"))
        if media not in p.content_types:
            resp.close()
            raise FetchError(
                url,
                f"the content type is {media or 'not given'}{at}; "
                f"accepted: {', '.join(p.content_types)}",
            )
        body = _read(resp, url, p)
        return Fetched(url, current, tuple(hops), code, media, charset, body, attempts)


def _refused(url: str, current: str, exc: hosts.HostRefused) -> FetchError:
    if current == url:
        what = f"its host {exc.host} {exc.reason}; only public addresses are fetched"
        return FetchError(url, f"{what} (allow a host you trust: --allow-private-host {exc.host})")
    return FetchError(
        url,
        f"it redirects to {current}, whose host {exc.host} {exc.reason}; "
        "redirects to non-public addresses are refused",
    )


def _send(s: requests.Session, url: str, current: str, p: Policy) -> tuple[requests.Response, int]:
    """One request to `current`, retried on transient failures; any status but 429/5xx."""
    attempts = p.retries + 1
    for attempt in range(1, attempts + 1):
        resp, error, asked = _attempt(s, url, current, p)
        if resp is not None:
            return resp, attempt
        if attempt == attempts:
            raise FetchError(url, f"{error}; gave up after {attempts} attempt(s)")
        wait = asked if asked is not None else p.backoff * 2 ** (attempt - 1)
        p.sleep(min(max(wait, 0.0), p.max_wait))
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(
    s: requests.Session, url: str, current: str, p: Policy
) -> tuple[requests.Response | None, str, float | None]:
    """(response, "", None), or (None, why, Retry-After) for a failure worth retrying.

    Failures that a retry would not change raise FetchError.
    """
    host, hostname = urlsplit(current).netloc, urlsplit(current).hostname or ""
    allowed = frozenset(hosts.normalise(h) for h in p.allow_private_hosts)
    try:
        hosts.check(hostname, allowed, p.resolve or hosts.system_resolve)
    except hosts.HostRefused as exc:
        raise _refused(url, current, exc) from None
    except (OSError, UnicodeError) as exc:  # socket.gaierror, or a name IDNA cannot encode
        return None, f"cannot resolve {hostname}: {_short(exc)}", None
    try:
        resp = s.get(
            current,
            headers={"User-Agent": p.user_agent, "Accept": p.accept},
            timeout=(p.connect_timeout, p.read_timeout),
            allow_redirects=False,
            stream=True,
        )
    except hosts.HostRefused as exc:  # the connected peer (hosts.GuardedAdapter)
        raise _refused(url, current, exc) from None
    except requests.exceptions.ConnectTimeout:
        return None, f"connecting to {host} timed out after {p.connect_timeout:g} s", None
    except requests.exceptions.ReadTimeout:
        raise FetchError(
            url, f"{host} sent no response within the read timeout of {p.read_timeout:g} s"
        ) from None
    except requests.exceptions.SSLError as exc:
        raise FetchError(url, f"TLS error with {host}: {_short(exc)}") from None
    except requests.exceptions.ConnectionError as exc:
        return None, f"cannot connect to {host}: {_short(exc)}", None
    except requests.exceptions.RequestException as exc:
        raise FetchError(url, f"invalid request: {_short(exc)}") from None
    if resp.status_code != 429 and resp.status_code < 500:
        return resp, "", None
    error = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
    if current != url:
        error += f" (at {current})"
    asked = retry_after(resp.headers.get("Retry-After"), p.clock())
    resp.close()
    return None, error, asked


def _read(resp: requests.Response, url: str, p: Policy) -> bytes:
    """The decompressed body, cut off at `max_bytes` and at the total deadline."""
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    declared = resp.headers.get("Content-Length", "").strip()
    too_big = (
        f"the body is larger than the cap of {p.max_bytes} bytes"
        f"{' after decompression' if encoding not in ('', 'identity') else ''}; "
        "raise --max-bytes if the page is genuine"
    )
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > p.max_bytes:
        resp.close()
        raise FetchError(url, too_big)
    deadline = p.monotonic() + p.total_timeout
    too_slow = FetchError(url, f"the body took longer than {p.total_timeout:g} s")
    # A read blocks until a whole chunk has arrived, so a server that sends a byte now and
    # then (each within the read timeout) would never reach the deadline check below: the
    # watchdog shuts the socket down at the deadline, which ends the blocked read.
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        with contextlib.suppress(Exception):
            resp.raw.shutdown()

    watchdog = threading.Timer(p.total_timeout, cut)
    watchdog.daemon = True
    watchdog.start()
    chunks: list[bytes] = []
    size = 0
    try:
        # raw.stream decodes gzip/deflate in bounded steps, so the cap is checked on
        # decompressed bytes before a bomb can expand in memory.
        for chunk in resp.raw.stream(CHUNK, decode_content=True):
            size += len(chunk)
            if size > p.max_bytes:
                raise FetchError(url, too_big)
            if expired.is_set() or p.monotonic() > deadline:
                raise too_slow
            chunks.append(chunk)
        if expired.is_set():  # the shutdown looks like the end of a body without a length
            raise too_slow
    except ReadTimeoutError:
        raise FetchError(
            url, f"the body stalled: nothing arrived for {p.read_timeout:g} s"
        ) from None
    except DecodeError as exc:
        raise FetchError(url, f"the {encoding} body cannot be decoded: {_short(exc)}") from None
    except (ProtocolError, Urllib3Error, OSError) as exc:
        if expired.is_set():
            raise too_slow from None
        raise FetchError(url, f"the connection broke while reading: {_short(exc)}") from None
    finally:
        watchdog.cancel()
        resp.close()
    return b"".join(chunks)


def _short(exc: BaseException) -> str:
    """The innermost message of a wrapped requests/urllib3 exception, on one line."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
