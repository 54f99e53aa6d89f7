"""`crampkg refs resolve`: DOI normalisation, CSL-JSON by content negotiation, the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from pipeline.cli import main
from pipeline.fetch import hosts, http
from pipeline.load import data_files
from pipeline.refs import (
    CACHE_PATH,
    CSL_ACCEPT,
    csl_year,
    doi_url,
    fetch_csl,
    load_cache,
    normalise_doi,
    resolve,
)
from tests.loopback import tree

ROOT = Path(__file__).resolve().parent.parent
DOI = "10.1234/jtm.2018.1"  # the reference in tests/fixtures/minimal
CROSSREF = f"https://api.crossref.org/v1/works/{DOI}/transform"
CSL = {
    "DOI": "10.1234/JTM.2018.1",
    "type": "article-journal",
    "title": "Fatigue and cramps",
    "container-title": "J Test Med",
    "author": [{"family": "Doe", "given": "J"}],
    "issued": {"date-parts": [[2018, 5]]},
    "volume": "1",
    "page": "1-2",
    # volatile or bulky fields that must not reach the committed cache:
    "indexed": {"date-time": "2025-01-01T00:00:00Z"},
    "reference": [{"key": "r1"}],
    "score": 1,
}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """doi.org and the agencies are answered by `responses`; this stands in for their DNS."""
    monkeypatch.setattr(hosts, "system_resolve", lambda host: ["93.184.215.14"])


@pytest.fixture
def policy() -> http.Policy:
    return http.Policy(connect_timeout=0.5, read_timeout=0.5, retries=1, sleep=lambda s: None)


@pytest.fixture
def mock() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def negotiate(mock: responses.RequestsMock, doi: str = DOI, **answer: object) -> None:
    """doi.org redirects to the registration agency, which answers with CSL-JSON."""
    mock.get(doi_url(doi), status=302, headers={"Location": CROSSREF})
    if "body" not in answer:
        answer.setdefault("json", CSL)
    answer.setdefault("content_type", CSL_ACCEPT)
    mock.get(CROSSREF, **answer)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1234/ABC.def", "10.1234/abc.def"),
        ("  10.1234/abc  ", "10.1234/abc"),
        ("https://doi.org/10.1234/abc", "10.1234/abc"),
        ("HTTPS://DOI.ORG/10.1234/ABC", "10.1234/abc"),
        ("http://dx.doi.org/10.1234/abc", "10.1234/abc"),
        ("doi.org/10.1234/abc", "10.1234/abc"),
        ("https://doi.org/10.1234%2Fabc", "10.1234/abc"),
        ("doi:10.1234/abc", "10.1234/abc"),
        ("DOI: 10.1234/abc.", "10.1234/abc"),
        ("doi:10.1234/abc);", "10.1234/abc"),
        ("10.1016/S0140-6736(20)30183-5", "10.1016/s0140-6736(20)30183-5"),
        ("10.1016/S0140-6736(20)30183-5.", "10.1016/s0140-6736(20)30183-5"),
        (  # angle brackets and semicolons are part of old Wiley DOIs
            "10.1002/(SICI)1097-4636(199907)46:1<13::AID-JBM2>3.0.CO;2-J",
            "10.1002/(sici)1097-4636(199907)46:1<13::aid-jbm2>3.0.co;2-j",
        ),
        ("10.5455/msm.2018.30.67-69", "10.5455/msm.2018.30.67-69"),
        ("10.12/abc", None),  # registrant code too short
        ("https://example.org/10.1234/abc", None),
        ("not a doi", None),
        ("", None),
    ],
)
def test_normalise_doi(raw, expected):
    assert normalise_doi(raw) == expected


def test_doi_url_escapes_what_urls_cannot_carry():
    assert (
        doi_url("10.1002/(sici)1<13>;2-j#x")
        == "https://doi.org/10.1002/%28sici%291%3C13%3E%3B2-j%23x"
    )


def test_csl_json_by_content_negotiation(mock, policy):
    negotiate(mock)
    csl = fetch_csl(DOI, policy)
    assert mock.calls[0].request.headers["Accept"] == CSL_ACCEPT
    assert csl["title"] == "Fatigue and cramps" and csl["container-title"] == "J Test Med"
    assert "indexed" not in csl and "reference" not in csl and "score" not in csl
    assert list(csl) == sorted(csl)
    assert csl_year(csl) == 2018


HTML_ANSWERS = {  # what doi.org's agency sends instead of CSL-JSON: (content type, body)
    "landing-page": ("text/html", "<!doctype html><title>Landing page</title>"),
    "xhtml": ("application/xhtml+xml", "<html xmlns='http://www.w3.org/1999/xhtml'/>"),
    "html-labelled-csl-json": (CSL_ACCEPT, "<!DOCTYPE html><html><body>Cookies?</body>"),
    "html-labelled-json": ("application/json", "  <html><body>Oops</body></html>"),
}


@pytest.mark.parametrize("case", list(HTML_ANSWERS))
def test_html_where_csl_json_expected_refused(case, minimal_copy, mock, capsys):
    """One clear line naming the DOI's URL, the answer and where it came from; exit 2; the
    cache (absent here, or already there) is left byte for byte as it was."""
    ctype, body = HTML_ANSWERS[case]
    negotiate(mock, body=body, content_type=ctype)
    args = ["refs", "resolve", "--data", str(minimal_copy), "--timeout", "0.5", "--retries", "0"]
    cache_file = minimal_copy / CACHE_PATH
    for cached in (None, b'{"10.9999/other": {"title": "Kept"}}\n'):
        if cached is not None:
            cache_file.parent.mkdir(exist_ok=True)
            cache_file.write_bytes(cached)
        before = tree(minimal_copy)
        assert main(args) == 2
        err = capsys.readouterr().err
        assert (
            f"crampkg: FAILED ref-test-fatigue: cannot fetch {doi_url(DOI)}: expected CSL-JSON "
            f"but got {ctype} (an HTML page) from {CROSSREF}; "
        ) in err
        assert "; nothing was cached for it\n" in err
        assert "0 resolved, 0 from the cache, 1 failed" in err
        assert tree(minimal_copy) == before  # no cache, no temp file, nothing else


def test_html_answer_never_reaches_the_cache_beside_a_good_one(minimal_copy, mock, policy):
    """Other DOIs of the same run are still cached; the HTML answer is not."""
    add_reference(minimal_copy, OTHER_DOI)
    negotiate(mock)
    mock.get(doi_url("10.5678/html.1"), body="<html>landing</html>", content_type="text/html")
    out = resolve(minimal_copy, policy)
    assert [f[:2] for f in out.failed] == [("ref-test-html", "10.5678/html.1")]
    assert list(json.loads((minimal_copy / CACHE_PATH).read_bytes())) == [DOI]


OTHER_DOI = """  - id: ref-test-html
    marker: "4"
    citation: "Poe P. Landing pages. 2021."
    doi: "10.5678/html.1"
    kind: journal-article
"""


def test_broken_json(mock, policy):
    negotiate(mock, body="{not json", content_type=CSL_ACCEPT)
    with pytest.raises(http.FetchError, match="the CSL-JSON is not valid JSON"):
        fetch_csl(DOI, policy)


def test_unknown_doi(mock, policy):
    mock.get(doi_url(DOI), status=404)
    with pytest.raises(http.FetchError, match="HTTP 404 Not Found"):
        fetch_csl(DOI, policy)


def add_reference(data: Path, text: str) -> None:
    path = data / "sources" / "article.yaml"
    path.write_text(path.read_text() + text)


NO_DOI = """  - id: ref-test-nodoi
    marker: "3"
    citation: "Roe R. Night cramps in runners. Sports Med. 2020."
    title: Night cramps in runners
    kind: journal-article
"""


def test_resolve_writes_a_deterministic_cache_and_reuses_it(minimal_copy, mock, policy):
    add_reference(minimal_copy, NO_DOI)
    negotiate(mock)
    out = resolve(minimal_copy, policy)
    cache_file = minimal_copy / CACHE_PATH
    assert out.written and out.fetched == [("ref-test-fatigue", DOI)] and out.failed == []
    assert out.mentions == ["ref-test-review"]
    [(ref, hint, where)] = out.no_doi
    assert ref == "ref-test-nodoi" and str(where) == "data/sources/article.yaml:33:5"
    assert hint == (
        "https://api.crossref.org/works?query.bibliographic="
        "Roe+R.+Night+cramps+in+runners.+Sports+Med.+2020.&rows=5"
    )
    first = cache_file.read_bytes()
    cache = json.loads(first)
    assert list(cache) == [DOI] and cache[DOI]["title"] == "Fatigue and cramps"
    assert (
        first == (json.dumps(cache, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )

    mock.reset()  # no network now: a second run must use the cache only
    again = resolve(minimal_copy, policy)
    assert again.cached == [("ref-test-fatigue", DOI)] and not again.fetched
    assert not again.written and cache_file.read_bytes() == first
    assert load_cache(cache_file) == cache


def test_resolve_reports_disagreements(minimal_copy, mock, policy):
    negotiate(
        mock, json={**CSL, "title": "Fatigue and muscle cramps", "issued": {"date-parts": [[2019]]}}
    )
    out = resolve(minimal_copy, policy)
    assert out.differences == [
        ("ref-test-fatigue", "title", "Fatigue and cramps", "Fatigue and muscle cramps"),
        ("ref-test-fatigue", "year", "2018", "2019"),
    ]


def test_cli_refs_resolve(minimal_copy, mock, capsys):
    negotiate(mock)
    assert main(["refs", "resolve", "--data", str(minimal_copy), "--timeout", "0.5"]) == 0
    err = capsys.readouterr().err
    assert f"resolved ref-test-fatigue: doi:{DOI}" in err
    assert "1 resolved, 0 from the cache, 0 failed, 0 without DOI, 1 named mention(s)" in err


def test_cli_refs_resolve_bad_cache(minimal_copy, capsys):
    cache_file = minimal_copy / CACHE_PATH
    cache_file.parent.mkdir()
    cache_file.write_text("[1, 2]")
    assert main(["refs", "resolve", "--data", str(minimal_copy)]) == 2
    assert "must be an object of DOI -> CSL-JSON item" in capsys.readouterr().err


def test_the_committed_cache_is_valid_and_not_read_by_the_loader():
    cache_file = ROOT / "data" / CACHE_PATH
    assert isinstance(load_cache(cache_file), dict)
    assert cache_file not in data_files(ROOT / "data")


def test_build_fills_missing_metadata_from_the_cache_only(minimal_copy: Path) -> None:
    """The graph takes a title the YAML lacks from the committed cache, offline."""
    from pipeline.build import run_pipeline

    meta = minimal_copy / "sources/article.yaml"
    meta.write_text(meta.read_text().replace("    title: Fatigue and cramps\n", ""))
    cache = minimal_copy / CACHE_PATH
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({DOI: {"title": "Fatigue and cramps (from the cache)"}}))
    result = run_pipeline(minimal_copy, validate=False, export=False)
    assert result.graph is not None
    lines = {str(t) for t in result.graph.triples}
    ref = "<https://example.org/kg/reference/ref-test-fatigue>"
    assert f'{ref} <http://purl.org/dc/terms/title> "Fatigue and cramps (from the cache)"' in lines
    assert f"{ref} <http://schema.org/sameAs> <https://doi.org/{DOI}>" in lines
