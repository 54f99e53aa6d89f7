"""The robust GET of `crampkg fetch`, against `responses` (no network): every failure mode."""

from __future__ import annotations

import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from pipeline.fetch import http
from pipeline.fetch.charset import decode
from pipeline.fetch.snapshot import candidate

URL = "http://example.test/page"
HTML = "text/html; charset=utf-8"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def policy(waits: list[float]) -> http.Policy:
    return http.Policy(
        connect_timeout=0.5,
        read_timeout=0.5,
        retries=2,
        backoff=0.01,
        max_wait=5.0,
        max_bytes=100_000,
        sleep=waits.append,
        clock=lambda: NOW,
        resolve=lambda host: ["93.184.215.14"],  # stands in for DNS: every *.test is public
    )


@pytest.fixture
def mock() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def fails(policy: http.Policy, url: str = URL) -> str:
    with pytest.raises(http.FetchError) as info:
        http.get(url, policy)
    message = str(info.value)
    assert message.startswith(f"cannot fetch {url}: ")
    return info.value.reason


def test_success_reports_the_page(mock, policy):
    mock.get(URL, body="<p>Hello</p>", content_type=HTML)
    got = http.get(URL, policy)
    assert (got.status, got.media_type, got.charset, got.body) == (
        200,
        "text/html",
        "utf-8",
        b"<p>Hello</p>",
    )
    assert got.final_url == URL and got.redirects == () and got.attempts == 1
    sent = mock.calls[0].request
    assert "crampkg/" in sent.headers["User-Agent"] and "text/html" in sent.headers["Accept"]


def test_connect_timeout_is_retried_then_named(mock, policy, waits):
    mock.get(URL, body=requests.exceptions.ConnectTimeout("slow"))
    reason = fails(policy)
    assert "connecting to example.test timed out after 0.5 s" in reason
    assert "gave up after 3 attempt(s)" in reason
    assert len(mock.calls) == 3 and waits == [0.01, 0.02]


def test_read_timeout_before_headers_is_not_retried(mock, policy, waits):
    mock.get(URL, body=requests.exceptions.ReadTimeout("stalled"))
    assert "no response within the read timeout of 0.5 s" in fails(policy)
    assert len(mock.calls) == 1 and waits == []


def test_refused_connection(mock, policy):
    mock.get(URL, body=requests.exceptions.ConnectionError("Connection refused"))
    assert "cannot connect to example.test: Connection refused" in fails(policy)


def test_429_with_retry_after_seconds_then_200(mock, policy, waits):
    mock.get(URL, status=429, headers={"Retry-After": "3"})
    mock.get(URL, body="ok", content_type="text/plain")
    got = http.get(URL, policy)
    assert got.body == b"ok" and got.attempts == 2
    assert waits == [3.0]


def test_retry_after_http_date_is_honoured_and_capped(mock, policy, waits):
    later = format_datetime(NOW + timedelta(seconds=2), usegmt=True)
    much_later = format_datetime(NOW + timedelta(hours=1), usegmt=True)
    mock.get(URL, status=503, headers={"Retry-After": later})
    mock.get(URL, status=429, headers={"Retry-After": much_later})
    mock.get(URL, body="ok", content_type="text/plain")
    assert http.get(URL, policy).body == b"ok"
    assert waits == [2.0, 5.0]  # the hour is capped at max_wait


def test_503_retries_exhausted(mock, policy, waits):
    mock.get(URL, status=503)
    reason = fails(policy)
    assert reason == "HTTP 503 Service Unavailable; gave up after 3 attempt(s)"
    assert len(mock.calls) == 3 and waits == [0.01, 0.02]


def test_other_4xx_is_not_retried(mock, policy, waits):
    mock.get(URL, status=404)
    assert fails(policy) == "HTTP 404 Not Found"
    assert len(mock.calls) == 1 and waits == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value, expected):
    assert http.retry_after(value, NOW) == expected


def test_redirects_are_followed_and_recorded(mock, policy):
    mock.get(URL, status=301, headers={"Location": "/moved"})
    mock.get(
        "http://example.test/moved",
        status=302,
        headers={"Location": "https://www.example.test/final"},
    )
    mock.get("https://www.example.test/final", body="done", content_type="text/plain")
    got = http.get(URL, policy)
    assert got.final_url == "https://www.example.test/final"
    assert got.redirects == ("http://example.test/moved", "https://www.example.test/final")
    assert got.attempts == 3


def test_redirect_loop(mock, policy):
    mock.get(URL, status=302, headers={"Location": "/other"})
    mock.get("http://example.test/other", status=302, headers={"Location": URL})
    reason = fails(policy)
    assert reason.startswith("redirect loop (")
    assert reason.endswith(f"{URL} -> http://example.test/other -> {URL})")


def chain(mock: responses.RequestsMock, hops: int) -> None:
    for i in range(hops):
        mock.get(f"http://example.test/{i}", status=307, headers={"Location": f"/{i + 1}"})
    mock.get(f"http://example.test/{hops}", body="end", content_type="text/plain")


def test_five_redirects_are_allowed(mock, policy):
    chain(mock, 5)
    assert http.get("http://example.test/0", policy).body == b"end"


def test_more_than_five_redirects(mock, policy):
    chain(mock, 6)
    reason = fails(policy, "http://example.test/0")
    assert reason == "more than 5 redirects (last to http://example.test/6)"
    assert len(mock.calls) == 6


def test_redirect_without_location(mock, policy):
    mock.get(URL, status=302)
    assert fails(policy) == f"HTTP 302 from {URL} without a Location header"


@pytest.mark.parametrize(
    "url", ["ftp://example.test/x", "file:///etc/passwd", "javascript:alert(1)", "example.test/x"]
)
def test_only_http_and_https(mock, policy, url):
    reason = fails(policy, url)
    assert "only http and https URLs are fetched" in reason
    assert len(mock.calls) == 0


def test_redirect_to_another_scheme_is_refused(mock, policy):
    mock.get(URL, status=302, headers={"Location": "file:///etc/passwd"})
    reason = fails(policy)
    assert reason.startswith("it redirects to file:///etc/passwd, which uses the scheme file;")
    assert len(mock.calls) == 1


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "application/json"])
def test_wrong_content_type(mock, policy, content_type):
    mock.get(URL, body=b"%PDF-1.7", content_type=content_type)
    reason = fails(policy)
    assert reason == (
        f"the content type is {content_type}; "
        "accepted: text/html, application/xhtml+xml, text/plain"
    )


def test_missing_content_type(mock, policy):
    mock.get(URL, body=b"??", content_type=None)
    assert fails(policy).startswith("the content type is not given;")


def test_xhtml_is_accepted(mock, policy):
    mock.get(URL, body="<html/>", content_type="application/xhtml+xml")
    assert http.get(URL, policy).media_type == "application/xhtml+xml"


def test_oversized_body_by_content_length(mock, policy):
    mock.get(
        URL, body=b"x" * 100_001, content_type="text/plain", auto_calculate_content_length=True
    )
    assert fails(policy).startswith("the body is larger than the cap of 100000 bytes;")


def test_oversized_body_while_streaming(mock, policy):
    mock.get(URL, body=b"x" * 300_000, content_type="text/plain")  # no Content-Length
    assert fails(policy).startswith("the body is larger than the cap of 100000 bytes;")


def test_body_at_the_cap_is_fine(mock, policy):
    mock.get(URL, body=b"x" * 100_000, content_type="text/plain")
    assert len(http.get(URL, policy).body) == 100_000


def gzip_of_zeros(megabytes: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    return b"".join(c.compress(bytes(1_000_000)) for _ in range(megabytes)) + c.flush()


def test_gzip_bomb_is_cut_off_without_filling_memory(mock, policy):
    bomb = gzip_of_zeros(20)  # 20 MB of zeros in about 20 KB
    assert len(bomb) < 100_000
    mock.get(URL, body=bomb, content_type="text/html", headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        reason = fails(policy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason.startswith("the body is larger than the cap of 100000 bytes after decompression")
    assert peak < 5_000_000  # never near the 20 MB the body expands to


def test_gzip_body_is_decompressed(mock, policy):
    body = zlib.compress(b"<p>small</p>")
    mock.get(URL, body=body, content_type=HTML, headers={"Content-Encoding": "deflate"})
    assert http.get(URL, policy).body == b"<p>small</p>"


def test_corrupt_gzip(mock, policy):
    mock.get(URL, body=b"not gzip at all", content_type=HTML, headers={"Content-Encoding": "gzip"})
    assert fails(policy).startswith("the gzip body cannot be decoded:")


# ---------------------------------------------------------------- charsets, end to end


def page(mock, policy, body: bytes, content_type: str) -> tuple[str, str, str]:
    mock.get(URL, body=body, content_type=content_type)
    c = candidate(http.get(URL, policy), "charset-test", NOW)
    return c.page.main, c.decoded.encoding, c.decoded.how


def test_charset_from_the_header(mock, policy):
    body = "<p>Caf\u00e9 cr\u00e8me</p>".encode("latin-1")
    assert page(mock, policy, body, "text/html; charset=ISO-8859-1") == (
        "Caf\u00e9 cr\u00e8me",
        "cp1252",
        "header",
    )


def test_charset_from_meta_when_the_header_has_none(mock, policy):
    body = '<meta charset="windows-1252"><p>\u201cquoted\u201d \u2013 dash</p>'.encode("cp1252")
    assert page(mock, policy, body, "text/html") == (
        "\u201cquoted\u201d \u2013 dash",
        "cp1252",
        "meta",
    )


def test_charset_from_http_equiv_meta(mock, policy):
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
    body = f"{meta}<p>\u043f\u0440\u0438\u0432\u0435\u0442</p>".encode("koi8-r")
    assert page(mock, policy, body, "text/html")[:2] == (
        "\u043f\u0440\u0438\u0432\u0435\u0442",
        "koi8-r",
    )


def test_the_header_wins_over_meta(mock, policy):
    body = '<meta charset="iso-8859-1"><p>na\u00efve</p>'.encode()
    assert page(mock, policy, body, HTML) == ("na\u00efve", "utf-8", "header")


def test_unknown_header_charset_falls_back(mock, policy):
    body = "<p>\u00fcber</p>".encode()
    assert page(mock, policy, body, "text/html; charset=x-nonsense") == (
        "\u00fcber",
        "utf-8",
        "utf-8",
    )


def test_undeclared_utf8(mock, policy):
    assert page(mock, policy, "<p>\u2014 ok \u2603</p>".encode(), "text/html") == (
        "\u2014 ok \u2603",
        "utf-8",
        "utf-8",
    )


def test_bom_wins(mock, policy):
    body = "<p>\u00e9t\u00e9</p>".encode("utf-16")
    main, _, how = page(mock, policy, body, "text/html; charset=iso-8859-1")
    assert (main, how) == ("\u00e9t\u00e9", "bom")


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        (
            "Les crampes musculaires sont fr\u00e9quentes chez les sportifs. Elles surviennent "
            "apr\u00e8s un effort prolong\u00e9, \u00e0 cause de la d\u00e9shydratation.",
            "cp1252",
        ),
        (
            "\u041c\u044b\u0448\u0435\u0447\u043d\u044b\u0435 \u0441\u0443\u0434\u043e"
            "\u0440\u043e\u0433\u0438 \u0432\u043e\u0437\u043d\u0438\u043a\u0430\u044e"
            "\u0442 \u0432\u043d\u0435\u0437\u0430\u043f\u043d\u043e. " * 3,
            "cp1251",
        ),
    ],
)
def test_undeclared_legacy_bytes_are_detected(text, codec):
    decoded = decode(f"<p>{text}</p>".encode(codec), None, "text/html")
    assert (decoded.text, decoded.encoding, decoded.how) == (f"<p>{text}</p>", codec, "detected")


def test_undecodable_bytes_never_raise():
    assert decode(b"\xff\xfe\xfa", None, "text/plain").text
    assert decode(b"", None, "text/html").text == ""


def test_plain_text_keeps_lines(mock, policy):
    main, _, _ = page(
        mock, policy, b"Title line\r\n\r\nBody  text\r\n", "text/plain; charset=utf-8"
    )
    assert main == "Title line\n\nBody  text"
