"""Which hosts `crampkg fetch` may connect to: public addresses only, unless allowed by name.

A page (or a redirect it sends) must not make crampkg read from the curator's own machine, the
local network or a cloud metadata service (`http://169.254.169.254/`). So before every request
the host is turned into addresses and each one must be globally routable unicast:

- IP literals are parsed the way the C library parses them (`getaddrinfo` with
  `AI_NUMERICHOST`, no DNS), so `2130706433`, `0x7f.1`, `127.1` and `017700000001` are seen as
  the 127.0.0.1 they are; IPv6 addresses that carry an IPv4 one (`::ffff:127.0.0.1`, NAT64
  `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address too;
- names are resolved (`getaddrinfo`) and refused when ANY address is not public, since the
  connection may use any of them;
- after the connection is made, the address actually connected to is checked again, so a
  name that resolves to a public address for the check and to a private one for the
  connection (DNS rebinding) is refused before the request is sent.

Hosts in `allowed` (as written in the URL, case-insensitive: `127.0.0.1` does not allow
`localhost` or `2130706433`) skip these checks: the curator asked for them by name.
Through an HTTP proxy only the first check applies: the proxy makes the connection.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Resolver = Callable[[str], Sequence[str]]
_NAT64 = ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ip_network("fc00::/7")


class HostRefused(Exception):
    """The host is, or resolves to, an address crampkg does not fetch from."""

    def __init__(self, host: str, reason: str):
        super().__init__(reason)
        self.host = host
        self.reason = reason


def normalise(host: str) -> str:
    """`[::1]` -> `::1`, `Example.ORG.` -> `example.org`: how hosts are compared."""
    return host.strip().strip("[]").rstrip(".").lower()


def _embedded(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def kind(address: str) -> str | None:
    """None for a globally routable unicast address, else what it is: "loopback", ..."""
    ip = ip_address(address)
    if isinstance(ip, IPv6Address) and (inner := _embedded(ip)) is not None:
        found = kind(str(inner))
        if found is not None or ip.sixtofour is None:
            return found  # mapped and NAT64 addresses reach the IPv4 address itself
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, IPv6Address) and ip in _UNIQUE_LOCAL, "unique-local"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-global"),
    )
    return next((name for hit, name in checks if hit), None)


def _what(address: str, found: str) -> str:
    """`127.0.0.1` -> "a loopback address"; mentions the IPv4 address an IPv6 one carries."""
    ip = ip_address(address)
    inner = _embedded(ip) if isinstance(ip, IPv6Address) else None
    article = "an" if found == "unspecified" else "a"
    return f"{article} {found} address" + (f" (it carries {inner})" if inner else "")


def system_resolve(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (TCP)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _literal(host: str) -> list[str] | None:
    """The address of an IP literal in any form the C library accepts; None for a name."""
    try:  # an IPv6 zone (`fe80::1%25eth0` in a URL) need not name an interface here
        return [str(ip_address(host.replace("%25", "%", 1)))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None
    return sorted({str(info[4][0]) for info in infos})


def _same(address: str, host: str) -> bool:
    """`::ffff:127.0.0.1` is written as `::ffff:7f00:1` by the resolver: the same address."""
    try:
        return ip_address(address) == ip_address(host.replace("%25", "%", 1))
    except ValueError:
        return False


def check(host: str, allowed: frozenset[str], resolve: Resolver) -> None:
    """Raise HostRefused unless every address of `host` is public (or the host is allowed).

    A name that cannot be resolved raises socket.gaierror: a transient failure, retried by
    the caller like a refused connection.
    """
    name = normalise(host)
    if name in allowed:
        return
    literal = _literal(name)
    addresses = literal if literal is not None else list(resolve(name))
    if not addresses:
        raise socket.gaierror(f"no address for {name}")
    for address in addresses:
        found = kind(address)
        if found is None:
            continue
        what = _what(address, found)
        if literal is not None and _same(address, name):
            raise HostRefused(host, f"is {what}")
        if literal is not None:
            raise HostRefused(host, f"is {address}, {what}")
        raise HostRefused(host, f"resolves to {address}, {what}")


def _checked(conn: HTTPConnection, sock: socket.socket, allowed: frozenset[str]) -> socket.socket:
    """The connected socket, unless its peer is not public (DNS rebinding, or no pre-check)."""
    if normalise(conn.host) in allowed:
        return sock
    peer = str(sock.getpeername()[0]).split("%", maxsplit=1)[0]
    found = kind(peer)
    if found is not None:
        sock.close()
        raise HostRefused(conn.host, f"was connected to {peer}, {_what(peer, found)}")
    return sock


def _pool_classes(allowed: frozenset[str]) -> dict[str, type[HTTPConnectionPool]]:
    class Conn(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _checked(self, super()._new_conn(), allowed)

    class TLSConn(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _checked(self, super()._new_conn(), allowed)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConn

    return {"http": Pool, "https": TLSPool}


class GuardedAdapter(HTTPAdapter):
    """requests' adapter whose connections refuse non-public peers (except `allowed` hosts)."""

    def __init__(self, allowed: frozenset[str]):
        self.allowed = allowed  # before super().__init__, which builds the pool manager
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allowed)
