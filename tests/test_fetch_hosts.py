"""Issue 9, case 10: `crampkg fetch` never reads from loopback, private or link-local hosts.

A redirect into private address space is refused before any connection, in every spelling
(decimal, hex, short and octal IPv4, IPv6 and IPv4-mapped IPv6, names that resolve there), and
so is a first URL there unless the curator allows the host by name. With `responses` for
public hosts a test server cannot be (and a socket-denying hook to prove no connection is
made), and a real server on 127.0.0.1 that would have answered every refused URL.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses

from pipeline.cli import main
from pipeline.fetch import hosts, http
from tests.loopback import Site, refused, serve, tree

PUBLIC = "93.184.215.14"
START = "http://public.test/page"
NAMES = {  # stands in for DNS, for the names that are not real
    "public.test": [PUBLIC],
    "internal.test": ["10.1.2.3"],
    "mixed.test": [PUBLIC, "192.168.0.9"],  # one private address is enough to refuse
    "v6.test": ["2606:2800:220:1::", "fd12::1"],
}


def resolve(host: str) -> Sequence[str]:
    """NAMES, else the system resolver: `localhost` and its spellings come from /etc/hosts."""
    return NAMES.get(host) or hosts.system_resolve(host)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", None),
        ("2606:2800:220:1::", None),
        ("::ffff:93.184.215.14", None),  # IPv4-mapped: the IPv4 address is what is reached
        ("64:ff9b::5db8:d70e", None),  # NAT64 of a public address
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fd00::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
    ],
)
def test_address_kind(address: str, kind: str | None) -> None:
    assert hosts.kind(address) == kind


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any socket connection fails loudly and is recorded (name resolution still works)."""
    tried: list[object] = []

    def deny(*args: object, **kwargs: object) -> None:
        tried.append(args[:2])
        raise AssertionError(f"a connection was attempted: {args[:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    yield tried


def policy(allowed: frozenset[str] = frozenset()) -> http.Policy:
    return http.Policy(
        connect_timeout=0.5,
        read_timeout=0.5,
        retries=0,
        allow_private_hosts=allowed,
        resolve=resolve,
    )


REDIRECTS = [  # (target, its host as in the URL, why it is refused)
    ("http://127.0.0.1/", "127.0.0.1", "is a loopback address"),
    ("http://127.0.0.1:8080/admin", "127.0.0.1", "is a loopback address"),
    ("http://2130706433/", "2130706433", "is 127.0.0.1, a loopback address"),
    ("http://0x7f.1/", "0x7f.1", "is 127.0.0.1, a loopback address"),
    ("http://0x7f000001/", "0x7f000001", "is 127.0.0.1, a loopback address"),
    ("http://127.1/", "127.1", "is 127.0.0.1, a loopback address"),
    ("http://017700000001/", "017700000001", "is 127.0.0.1, a loopback address"),
    ("http://[::1]/", "::1", "is a loopback address"),
    (
        "http://[::ffff:127.0.0.1]/",
        "::ffff:127.0.0.1",
        "is a loopback address (it carries 127.0.0.1)",
    ),
    ("http://localhost/", "localhost", "resolves to 127.0.0.1, a loopback address"),
    ("http://LocalHost./", "localhost.", "resolves to 127.0.0.1, a loopback address"),
    ("http://0.0.0.0/", "0.0.0.0", "is an unspecified address"),
    ("http://0/", "0", "is 0.0.0.0, an unspecified address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "is a link-local address"),
    ("http://[fe80::1%25eth0]/", "fe80::1%25eth0", "is a link-local address"),
    ("http://10.0.0.1/", "10.0.0.1", "is a private address"),
    ("http://192.168.1.1/", "192.168.1.1", "is a private address"),
    ("https://172.16.0.1/", "172.16.0.1", "is a private address"),
    ("http://[fd00::1]/", "fd00::1", "is a unique-local address"),
    ("http://224.0.0.1/", "224.0.0.1", "is a multicast address"),
    ("http://internal.test/", "internal.test", "resolves to 10.1.2.3, a private address"),
    ("http://mixed.test/", "mixed.test", "resolves to 192.168.0.9, a private address"),
    ("http://v6.test/", "v6.test", "resolves to fd12::1, a unique-local address"),
]


@pytest.mark.parametrize(
    ("target", "host", "why"),
    [pytest.param(*case, id=urlsplit(case[0]).netloc) for case in REDIRECTS],
)
def test_redirect_to_private_address_refused(
    target: str, host: str, why: str, minimal_copy: Path, denied: list[object]
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(START, status=302, headers={"Location": target})
        reason = refused(minimal_copy, START, policy())
        assert len(mock.calls) == 1  # the redirect, and nothing sent to the target
    assert reason == (
        f"it redirects to {target}, whose host {host} {why}; "
        "redirects to non-public addresses are refused"
    )
    assert denied == []


def test_public_redirect_is_followed(minimal_copy: Path, denied: list[object]) -> None:
    """The control: the same redirect to a public host goes through."""
    with responses.RequestsMock() as mock:
        mock.get(START, status=302, headers={"Location": "http://public.test/final"})
        mock.get("http://public.test/final", body="<p>Fine.</p>", content_type="text/html")
        assert http.get(START, policy()).final_url == "http://public.test/final"
    assert denied == []


# ------------------------------------------------------------- a real server on 127.0.0.1


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Site]]:
    with serve() as running:
        yield running


@pytest.fixture
def port(server: tuple[str, Site]) -> int:
    server[1].hits.clear()
    return int(server[0].rsplit(":", 1)[1])


@pytest.fixture
def site(server: tuple[str, Site]) -> Site:
    return server[1]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        pytest.param(start, f"http://{host}:{{port}}/article", id=f"{host}-from-{start}")
        for start, host in [
            ("127.0.0.1", "localhost"),
            ("127.0.0.1", "2130706433"),
            ("127.0.0.1", "0x7f.1"),
            ("127.0.0.1", "127.1"),
            ("127.0.0.1", "[::ffff:127.0.0.1]"),
            ("localhost", "127.0.0.1"),
        ]
    ],
)
def test_redirect_to_loopback_refused(
    start: str, target: str, port: int, site: Site, minimal_copy: Path
) -> None:
    """The first host is allowed by name; the same server under another name is not."""
    url = target.format(port=port)
    first = f"http://{start}:{port}/redirect?to={url}"
    reason = refused(minimal_copy, first, policy(frozenset({start})))
    assert reason.startswith(f"it redirects to {url}, whose host ")
    assert reason.endswith("; redirects to non-public addresses are refused")
    assert site.hits == {"/redirect": 1}  # /article, which would have answered, never asked


def test_redirect_to_the_allowed_host_is_followed(port: int, site: Site) -> None:
    url = f"http://127.0.0.1:{port}/redirect?to=/article"
    got = http.get(url, policy(frozenset({"127.0.0.1"})))
    assert got.final_url == f"http://127.0.0.1:{port}/article"
    assert site.hits == {"/redirect": 1, "/article": 1}


FULL_WIDTH_LOCALHOST = "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", FULL_WIDTH_LOCALHOST]
)
def test_private_first_url_refused_by_default(
    host: str, port: int, site: Site, minimal_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://{host}:{port}/article"
    before = tree(minimal_copy)
    assert main(["fetch", url, "--id", "hostile", "--data", str(minimal_copy)]) == 2
    name = host.strip("[]")
    err = capsys.readouterr().err
    assert err.startswith(f"crampkg: cannot fetch {url}: its host {name} ")
    assert (
        f"only public addresses are fetched (allow a host you trust: --allow-private-host {name})"
    ) in err
    assert site.hits == {} and tree(minimal_copy) == before


def test_allowed_first_url_is_fetched(port: int, minimal_copy: Path) -> None:
    url = f"http://localhost:{port}/article"
    args = ["fetch", url, "--id", "hostile", "--data", str(minimal_copy)]
    assert main([*args, "--allow-private-host", "LOCALHOST"]) == 0
    assert "A fine page about cramps." in (minimal_copy / "sources" / "hostile.txt").read_text()


def test_dns_rebinding_refused_at_connect(port: int, site: Site, minimal_copy: Path) -> None:
    """The name resolves to a public address for the check, then to 127.0.0.1 to connect."""
    lying = http.Policy(
        connect_timeout=0.5, read_timeout=0.5, retries=0, resolve=lambda h: [PUBLIC]
    )
    url = f"http://localhost:{port}/article"
    reason = refused(minimal_copy, url, lying)
    assert reason.startswith("its host localhost was connected to ")
    assert "a loopback address; only public addresses are fetched" in reason
    assert site.hits == {}  # refused before the request was sent


def test_unresolvable_name_is_retried_then_named(minimal_copy: Path) -> None:
    def nowhere(host: str) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    waits: list[float] = []
    p = http.Policy(retries=2, backoff=0.01, resolve=nowhere, sleep=waits.append)
    reason = refused(minimal_copy, "http://nowhere.test/", p)
    assert reason == (
        "cannot resolve nowhere.test: [Errno -2] Name or service not known; "
        "gave up after 3 attempt(s)"
    )
    assert waits == [0.01, 0.02]
