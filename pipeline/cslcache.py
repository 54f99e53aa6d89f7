"""The committed CSL-JSON cache of resolved DOIs: reading it needs no network and no HTTP code.

`crampkg refs resolve` (pipeline.refs) writes the cache; the build only reads it, here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

CACHE_PATH = Path("references") / "csl-cache.json"  # below the data folder
_DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
_PREFIXES = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi\.org/|doi:\s*)", re.I)


class RefsError(Exception):
    """The cache cannot be read or written."""


def normalise_doi(raw: str) -> str | None:
    """`https://doi.org/10.1000/ABC.` -> `10.1000/abc`; None when it is not a DOI.

    DOIs are case-insensitive (the handle system folds ASCII case), so the lower-case form is
    the cache key. Trailing punctuation from prose is dropped, a closing bracket only when it
    has no opening partner in the DOI.
    """
    doi = raw.strip()
    if _PREFIXES.match(doi):
        was_url = doi.lower().startswith(("http", "doi.org"))
        doi = _PREFIXES.sub("", doi, count=1)
        doi = unquote(doi) if was_url else doi
    doi = doi.strip()
    while doi and doi[-1] in ".,;:'\"!?)]}>":
        last = doi[-1]
        pair = {")": "(", "]": "[", "}": "{", ">": "<"}.get(last)
        if pair and doi.count(pair) >= doi.count(last):
            break
        doi = doi[:-1]
    doi = doi.lower()
    return doi if _DOI.match(doi) else None


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """The committed cache; an absent file is an empty cache."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RefsError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RefsError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise RefsError(f"{path} must be an object of DOI -> CSL-JSON item")
    return data


def csl_year(csl: dict[str, Any]) -> int | None:
    """The year of `issued` (else of print/online publication) in a CSL item."""
    for key in ("issued", "published-print", "published-online"):
        parts = (csl.get(key) or {}).get("date-parts") or [[None]]
        year = parts[0][0] if parts and parts[0] else None
        if isinstance(year, int) or (isinstance(year, str) and year.isdigit()):
            return int(year)
    return None
