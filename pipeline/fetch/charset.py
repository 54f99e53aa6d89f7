"""Bytes of a fetched page to text, choosing the encoding the way browsers do.

The order: a byte-order mark, the Content-Type charset, a `<meta charset>` in the first 4 KB
(HTML only), then strict UTF-8, then charset_normalizer's guess, then UTF-8 with replacement
characters. Decoding never fails; `Decoded.how` records which rule chose the encoding.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Browsers read these labels as windows-1252 (WHATWG Encoding); so do we.
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # Python codec name
    how: str  # bom | header | meta | utf-8 | detected | utf-8-replace


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    try:
        name = codecs.lookup(_ALIASES.get(label, label)).name
    except LookupError:
        return None
    return _ALIASES.get(name, name)


def decode(body: bytes, header_charset: str | None, media_type: str) -> Decoded:
    """The body as text; never fails, but says how the encoding was chosen."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(name, errors="replace"), name, "bom")
    candidates = [(_codec(header_charset), "header")]
    if media_type != "text/plain":
        meta = _META_CHARSET.search(body[:4096])
        candidates.append((_codec(meta.group(1).decode("ascii")) if meta else None, "meta"))
    for found, how in candidates:
        if found:
            # utf-16 declared in a document that is read as ASCII-compatible is a lie (HTML spec)
            name = "utf-8" if how == "meta" and found.startswith("utf-16") else found
            return Decoded(body.decode(name, errors="replace"), name, how)
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and _codec(best.encoding):
        name = _codec(best.encoding) or "utf-8"
        return Decoded(body.decode(name, errors="replace"), name, "detected")
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "utf-8-replace")
