"""`crampkg refs resolve`: bibliographic metadata for references with a DOI, cached in data/.

Each DOI is resolved once by content negotiation (GET https://doi.org/<doi> asking for
CSL-JSON) and stored in data/references/csl-cache.json, keyed by the normalised DOI, with a
fixed subset of CSL fields and sorted keys so the committed file only changes when the
metadata does. The build reads only this cache (see `load_cache`); it never resolves DOIs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

from pipeline.cslcache import CACHE_PATH, RefsError, csl_year, load_cache, normalise_doi
from pipeline.fetch import http
from pipeline.fetch.files import write_all
from pipeline.load import load_corpus
from pipeline.model import Reference
from pipeline.report import Location, Report

CSL_ACCEPT = "application/vnd.citationstyles.csl+json"
CSL_TYPES = (CSL_ACCEPT, "application/citeproc+json", "application/json")
MAX_CSL_BYTES = 2 * 1024 * 1024
# What the graph may use, and nothing volatile (Crossref's `indexed`, `deposited`, reference
# lists and scores change without the work changing).
CSL_FIELDS = frozenset(
    {
        *("DOI", "ISBN", "ISSN", "PMCID", "PMID", "URL", "author", "collection-title"),
        *("container-title", "container-title-short", "edition", "editor", "issue", "issued"),
        *("language", "page", "publisher", "publisher-place", "published-online"),
        *("published-print", "title", "title-short", "type", "volume"),
    }
)


def doi_url(doi: str) -> str:
    return "https://doi.org/" + quote(doi, safe="/")


def search_hint(ref: Reference) -> str:
    """A Crossref query for a reference without a DOI, built from its citation or title."""
    words = ref.citation or ref.title or ref.mention or ref.id
    return "https://api.crossref.org/works?" + urlencode(
        {"query.bibliographic": words, "rows": "5"}
    )


def trim(csl: dict[str, Any]) -> dict[str, Any]:
    return {k: csl[k] for k in sorted(csl) if k in CSL_FIELDS}


def fetch_csl(
    doi: str, policy: http.Policy, session: requests.Session | None = None
) -> dict[str, Any]:
    """CSL-JSON for one DOI, or FetchError (also when doi.org answers with HTML)."""
    url = doi_url(doi)
    # text/html is let through the allowlist so that it can be named in the error
    p = replace(
        policy,
        accept=CSL_ACCEPT,
        content_types=(*CSL_TYPES, "text/html", "application/xhtml+xml"),
        max_bytes=min(policy.max_bytes, MAX_CSL_BYTES),
    )
    got = http.get(url, p, session)
    looks_html = got.body.lstrip()[:1] == b"<"
    if got.media_type not in CSL_TYPES or looks_html:
        raise http.FetchError(
            url,
            f"expected CSL-JSON but got {got.media_type or 'no content type'} "
            f"{'(an HTML page) ' if looks_html or 'html' in got.media_type else ''}"
            f"from {got.final_url}; the DOI's registration agency may not support "
            "content negotiation",
        )
    try:
        data = json.loads(got.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise http.FetchError(url, f"the CSL-JSON is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not (data.get("title") or data.get("type")):
        raise http.FetchError(url, "the answer is JSON but not a CSL-JSON item")
    return trim(data)


def dump_cache(cache: dict[str, dict[str, Any]]) -> bytes:
    return (json.dumps(cache, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass
class Resolution:
    """What `resolve` did, for the CLI to report; lists are in reference-id order."""

    cache_path: Path
    fetched: list[tuple[str, str]] = field(default_factory=list)  # (ref id, doi)
    cached: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (ref id, doi, reason)
    invalid: list[tuple[str, str, Location]] = field(default_factory=list)  # (ref, raw, where)
    no_doi: list[tuple[str, str, Location]] = field(default_factory=list)  # (ref, hint, where)
    mentions: list[str] = field(default_factory=list)  # named mentions: nothing to resolve
    differences: list[tuple[str, str, str, str]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # cached DOIs no reference has (kept)
    written: bool = False
    load_problems: int = 0


def resolve(
    data_dir: Path,
    policy: http.Policy,
    cache_path: Path | None = None,
    refresh: bool = False,
    session: requests.Session | None = None,
) -> Resolution:
    """Resolve every DOI not yet cached (all of them with `refresh`); write the cache once."""
    if not data_dir.is_dir():
        raise RefsError(f"the data folder {data_dir} does not exist")
    path = cache_path or data_dir / CACHE_PATH
    report = Report()
    corpus = load_corpus(data_dir, report)
    cache = load_cache(path)
    before = dump_cache(cache) if path.exists() else None
    out = Resolution(path, load_problems=len(report.problems))
    failed: dict[str, str] = {}
    done: set[str] = set()  # fetched in this run
    for ref in sorted(corpus.references.values(), key=lambda r: r.id):
        if not ref.doi:
            if ref.kind == "named-mention":
                out.mentions.append(ref.id)
            else:
                out.no_doi.append((ref.id, search_hint(ref), ref.origin.item))
            continue
        doi = normalise_doi(ref.doi)
        if doi is None:
            out.invalid.append((ref.id, ref.doi, ref.origin.at("doi")))
            continue
        if doi in failed:
            out.failed.append((ref.id, doi, failed[doi]))
            continue
        if doi in done or (doi in cache and not refresh):
            out.cached.append((ref.id, doi))
        else:
            try:
                cache[doi] = fetch_csl(doi, policy, session)
            except http.FetchError as exc:
                failed[doi] = exc.reason
                out.failed.append((ref.id, doi, exc.reason))
                continue
            done.add(doi)
            out.fetched.append((ref.id, doi))
        out.differences.extend(_differences(ref, cache[doi]))
    used = {d for _, d in out.fetched + out.cached} | set(failed)
    out.unused = sorted(d for d in cache if d not in used)
    data = dump_cache(cache)
    if data != before and (before is not None or cache):  # no empty file when all failed
        path.parent.mkdir(parents=True, exist_ok=True)
        write_all({path: data})
        out.written = True
    return out


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


def _differences(ref: Reference, csl: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Title and year disagreements between the YAML and the registry, for the curator."""
    found = []
    title = csl.get("title")
    title = title[0] if isinstance(title, list) and title else title
    if ref.title and isinstance(title, str) and _squash(ref.title) != _squash(title):
        found.append((ref.id, "title", ref.title, title))
    year = csl_year(csl)
    if ref.year and year and ref.year != year:
        found.append((ref.id, "year", str(ref.year), str(year)))
    return found


__all__ = ["CACHE_PATH", "RefsError", "csl_year", "load_cache", "normalise_doi", "resolve"]
