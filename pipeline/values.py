"""The values a curator writes that become RDF terms: web addresses, language tags.

Each check returns None when the value is fine, else the reason in words a curator can act on.
They run before the graph is built (`pipeline.checks`), so a bad value is a report line with
its file, line and YAML key path, never a traceback from the RDF library or a broken IRI in a
published file.

- Web addresses are absolute `http`/`https` IRIs (RFC 3987) with a host name, no user name or
  password, valid percent-escapes, and no invisible or formatting characters (RFC 3987 4.1
  forbids the bidi controls; the others only hide what a link points to).
- Language tags are well-formed BCP 47 tags (RFC 5646 section 2.1), with an ISO 639 language
  of 2 or 3 letters, no repeated variant or extension, and at most 35 characters (the length
  RFC 5646 section 4.4.1 asks every processor to support).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence

from pyoxigraph import NamedNode

MAX_IRI = 2048  # what browsers and the sitemaps protocol accept
MAX_LANGUAGE_TAG = 35
WEB_SCHEMES = ("http", "https")

# RFC 3987: ASCII characters allowed in an IRI (unreserved, reserved, and `%` of escapes).
_ASCII_IRI = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2}).{0,2}", re.DOTALL)
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")


def key_path(path: Sequence[str | int]) -> str:
    """`("references", 2, "url")` -> `references[2].url`, as a curator finds it in the file."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(the file)"


def show(value: str, limit: int = 80) -> str:
    """A value for a message: shortened, with invisible characters spelled out."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return "".join(f"\\u{ord(c):04x}" if _hidden(c) and c != " " else c for c in text)


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or _noncharacter(char)


def _noncharacter(char: str) -> bool:
    cp = ord(char)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _char_problem(value: str) -> str | None:
    for char in value:
        if char == " ":
            return "contains a space; write it as %20"
        if ord(char) < 0x80 and char not in _ASCII_IRI:
            what = "a control character" if ord(char) < 0x20 or char == "\x7f" else f"`{char}`"
            return f"contains {what}, which an IRI cannot hold; percent-encode it"
        if ord(char) >= 0x80 and _hidden(char):
            name = unicodedata.name(char, "unassigned")
            return (
                f"contains the invisible character U+{ord(char):04X} ({name}), "
                "which can hide where the link goes; remove it"
            )
    bad = _BAD_ESCAPE.search(value)
    if bad:
        return f"has `{bad.group()}`, which is not a percent-escape; write a literal % as %25"
    return None


def _host_problem(authority: str) -> str | None:
    if "@" in authority:
        return "contains a user name or password before `@`; remove it"
    if authority.startswith("["):  # an IPv6 literal, then an optional port
        host, _, after = authority.partition("]")
        host += "]"
        if after and not after.startswith(":"):
            return f"has `{authority}`, which is not a host name"
        port = after[1:]
    else:
        host, _, port = authority.partition(":")
    if port and (not port.isdigit() or int(port) > 65535):
        return f"has the port `{port}`, which is not a number from 0 to 65535"
    if not host:
        return "has no host name after `//`"
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"has `{host}`, which is not an IPv6 address"
        return None
    for label in host.split("."):
        ok = label and all(c.isalnum() or c == "-" for c in label)
        if not ok or label.startswith("-") or label.endswith("-"):
            return (
                f"has the host `{host}`, which is not a host name "
                "(letters, digits and hyphens, separated by dots)"
            )
    return None


def iri_problem(value: str, *, base: bool = False) -> str | None:
    """Why `value` is not an absolute http(s) IRI (with `base`: one that IRIs are minted under)."""
    if not value.strip():
        return "is empty"
    if value != value.strip():
        return "has a space at the start or end; remove it"
    if len(value) > MAX_IRI:
        return f"is {len(value)} characters long; a web address may have at most {MAX_IRI}"
    scheme = _SCHEME.match(value)
    if scheme is None:
        if value.startswith("//"):
            return f"has no scheme; write https:{value}"
        if value.startswith(("/", ".", "?", "#")):
            return "is a relative address; write the full address, starting with https://"
        return f"has no scheme; write the full address, like https://{value}"
    if scheme.group(1).lower() not in WEB_SCHEMES:
        return (
            f"is not a web address (it uses `{scheme.group(1)}:`): "
            "only http and https IRIs are allowed"
        )
    problem = _char_problem(value)
    if problem:
        return problem
    rest = value[scheme.end() :]
    if not rest.startswith("//"):
        return f"must be written {scheme.group(1)}://host/path"
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    problem = _host_problem(authority)
    if problem:
        return problem
    tail = rest[2 + len(authority) :]
    if "[" in tail or "]" in tail:
        return "contains `[` or `]` after the host name; percent-encode them as %5B and %5D"
    if tail.count("#") > 1:
        return "contains more than one `#`; percent-encode the others as %23"
    if base and (not value.endswith(("/", "#")) or "?" in tail or "#" in tail[:-1]):
        return "must end with `/` or `#` and have no `?` query: IRIs are made by appending to it"
    try:
        NamedNode(value)  # the RDF library's own check: a second opinion, never a crash later
    except ValueError as exc:
        return f"is not a valid IRI ({exc})"
    return None


# ------------------------------------------------------------------ language tags (RFC 5646)

_A, _AN = "[A-Za-z]", "[A-Za-z0-9]"
_PRIVATE = rf"[xX](?:-{_AN}{{1,8}})+"
_LANGTAG = re.compile(
    rf"""
    (?P<language>{_A}{{2,3}}(?:-{_A}{{3}}){{0,3}}|{_A}{{4}}|{_A}{{5,8}})
    (?:-(?P<script>{_A}{{4}}))?
    (?:-(?P<region>{_A}{{2}}|[0-9]{{3}}))?
    (?P<variants>(?:-(?:{_AN}{{5,8}}|[0-9]{_AN}{{3}}))*)
    (?P<extensions>(?:-[0-9A-WY-Za-wy-z](?:-{_AN}{{2,8}})+)*)
    (?:-(?P<private>{_PRIVATE}))?
    """,
    re.VERBOSE,
)
_PRIVATE_ONLY = re.compile(_PRIVATE)
_IRREGULAR = frozenset(
    [
        "en-gb-oed",
        "i-ami",
        "i-bnn",
        "i-default",
        "i-enochian",
        "i-hak",
        "i-klingon",
        "i-lux",
        "i-mingo",
        "i-navajo",
        "i-pwn",
        "i-tao",
        "i-tay",
        "i-tsu",
        "sgn-be-fr",
        "sgn-be-nl",
        "sgn-ch-de",
    ]
)


def language_tag_problem(tag: str) -> str | None:
    """Why `tag` is not a usable BCP 47 tag for a document's language."""
    if "_" in tag:
        return f"uses `_`; BCP 47 tags use hyphens: `{tag.replace('_', '-')}`"
    if len(tag) > MAX_LANGUAGE_TAG:
        return f"is {len(tag)} characters long; a language tag here has at most {MAX_LANGUAGE_TAG}"
    parts = tag.split("-")
    if "" in parts:
        return "has an empty part: a hyphen at the start or end, or two in a row"
    long_part = next((p for p in parts if len(p) > 8), None)
    if long_part is not None:
        return f"has the part `{long_part}`, longer than the 8 characters a subtag may have"
    if tag.lower() in _IRREGULAR:
        return "is a deprecated grandfathered tag; use its modern form (see the IANA registry)"
    if _PRIVATE_ONLY.fullmatch(tag):
        return "is a private-use tag (x-...), not a language; use an ISO 639 code like `en`"
    match = _LANGTAG.fullmatch(tag)
    if match is None:
        return "is not a well-formed BCP 47 language tag (RFC 5646), like `en` or `en-GB`"
    if len(match["language"].split("-")[0]) > 3:
        return "does not start with an ISO 639 language code of 2 or 3 letters, like `en`"
    variants = match["variants"].lower().split("-")[1:]
    if len(set(variants)) != len(variants):
        return "repeats a variant subtag"
    singletons = re.findall(r"-([0-9a-wy-z])(?=-)", match["extensions"].lower())
    if len(set(singletons)) != len(singletons):
        return "repeats an extension (a one-letter subtag)"
    return None
