"""Find a `SERVICE` keyword in a SPARQL query without trusting one reading of it.

Oxigraph executes `SERVICE <http://...> { ... }`: it opens an HTTP connection to the endpoint
the query names (tested: tests/test_sparql_guard.py). `crampkg query` and `crampkg serve` refuse
such queries before they reach Oxigraph, so this check must never miss one.

A plain tokenizer can be fooled: Oxigraph's parser is a PEG, so whether `<` opens an IRI or is
the less-than operator depends on the grammar, not on the characters. In
`FILTER(1<2)SERVICE:x#>` a tokenizer sees the IRI `<2)SERVICE:x#>`; Oxigraph sees `1 < 2`,
then `SERVICE :x`, then a comment (and calls the endpoint). So the scan follows every reading
at once: a position is *reachable* when some way of cutting the text before it into tokens ends
there, outside any string, comment or IRI. A `<` leads both past the IRI it may open and to
the next character; a run of name characters may be cut anywhere (`1SERVICE` is `1` then
`SERVICE` to a PEG); variables and prefixed names are taken whole, as the parser takes them,
and also cut after each '.' of a name. Two slashes in a row end a reading (`//` is never
valid outside an IRI, a string or a comment), which keeps `<http://example.org/service>`,
read as operators, from counting. `SERVICE` (any case) at a reachable position is flagged
unless its neighbours rule a keyword out (`ex:service`, `?service`, `/service>`). The check may
err towards refusing, never towards letting one through; tests/test_sparql_guard.py holds it
to Oxigraph's real behaviour, and `pipeline.nonet` stops the engine from connecting anyway.
"""

from __future__ import annotations

import re

# The lexical rules of Oxigraph 0.5's SPARQL parser (spargebra), exact where reading more than
# it does could hide text: PN_CHARS_BASE (nothing beyond U+FFFF), variables, strings and their
# escapes. The parser takes `<` up to the first `>` as an IRI if that IRI is valid; one with a
# space, a control character or one of <"{}|^` never is (and a '<' inside ends the scan early).
_IRI = re.compile(r'<[^<>"{}|^`\x00-\x20\x7f]*>')
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_CHARS = _BASE + "_0-9\u00b7\u0300-\u036f\u203f-\u2040-"  # PN_CHARS (with '-' last)
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_VAR = re.compile(f"[?$][{_BASE}_0-9][{_BASE}_0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
_PNAME = re.compile(  # consumed whole, and also cut after each '.' (see `_next`)
    f"(?:[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?)?:"
    f"(?:(?:[{_BASE}_:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?)?"
)
_ESCAPE = r"\\[tbnrf\"'\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_STRINGS = {  # String(): the long forms first, each tried only where its quotes are
    "'''": re.compile(rf"'''(?:(?:''|')?(?:[^'\\]|{_ESCAPE}))*'''"),
    '"""': re.compile(rf'"""(?:(?:""|")?(?:[^"\\]|{_ESCAPE}))*"""'),
    "'": re.compile(rf"'(?:[^'\\\n\r]|{_ESCAPE})*'"),
    '"': re.compile(rf'"(?:[^"\\\n\r]|{_ESCAPE})*"'),
}
_WORD = re.compile(f"[{_CHARS}]")  # a run of these: every split of it is a reading
_RUN = re.compile(f"[{_CHARS}]+")
_NAMEDOT = re.compile(f"[{_CHARS}.]+")
_LETTER = re.compile(f"[{_BASE}]")
_SPACE = re.compile(r"\s+")
_EOL = re.compile(r"[\r\n]")
_SERVICE = re.compile("service", re.IGNORECASE)  # also matches e.g. U+017F: refuse, never miss
# Right after these, `service` is inside a name (`ex:`, `?`, `@`, `%`, `\`) or cannot be a
# keyword (an operator or an opening bracket wants an operand): every other character counts.
_NOT_BEFORE = frozenset(":?$@%\\/<([^|&=!*+#")
# SERVICE is followed by SILENT or a variable, IRI or prefixed name, never by these.
_NOT_AFTER = frozenset(">{}()[].,;\"'=+-*/!|&^@%\\_0123456789")


def find_service(query: str) -> tuple[int, int] | None:
    """Line and column (1-based) of a `SERVICE` keyword some reading of `query` holds, or None."""
    last = max((m.start() for m in _SERVICE.finditer(query)), default=-1)
    if last < 0:  # the common case, at the speed of one regex search
        return None
    scan = _Scan(query)
    reach = bytearray(len(query) + 1)
    reach[0] = 1
    p = 0
    while 0 <= p <= last:
        if _WORD.match(query, p):  # a whole run of name characters at once
            end = _RUN.match(query, p).end()  # type: ignore[union-attr]
            for found in _SERVICE.finditer(query, p, end):
                if _keyword_at(query, found.start()):
                    return _line_column(query, found.start())
            for q in [end, *scan.name_ends(p, end)]:
                reach[q] = 1
            p = reach.find(1, end)
            continue
        if _SERVICE.match(query, p) and _keyword_at(query, p):  # e.g. U+017F, not a name char
            return _line_column(query, p)
        for q in scan.ends(p):
            reach[q] = 1
        p = reach.find(1, p + 1)
    return None


class _Scan:
    """Where the token starting at a position may end, in every reading.

    Positions are asked for in increasing order, so the look-ahead that could go far (the end
    of a stretch of name characters and dots) is found once per stretch and kept: the scan
    stays linear in the length of the query."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.stop = -1  # end of the last stretch of name characters and dots

    def ends(self, p: int) -> list[int]:
        text, c = self.text, self.text[p]
        if c.isspace():
            return [_SPACE.match(text, p).end()]  # type: ignore[union-attr]
        if c == "#":  # a comment runs to the end of the line
            return [_eol(text, p)]
        if c in "\"'":  # the long string if it parses, else the short one, as the parser does
            for quotes in (c * 3, c):
                found = _STRINGS[quotes].match(text, p) if text.startswith(quotes, p) else None
                if found:
                    return [found.end()]
            return [p + 1]  # no string parses: this reading fails; read on, to be safe
        if c == "<":  # the less-than operator, and the IRI it may open
            found = _IRI.match(text, p)
            return [p + 1, found.end()] if found else [p + 1]
        if c == "/" and text.startswith("//", p):
            return []  # never valid SPARQL outside an IRI, a string or a comment
        if c in "?$":
            found = _VAR.match(text, p)
            return [found.end()] if found else [p + 1]
        if c == ":":  # ':' alone is a prefixed name
            return _cuts(p, _PNAME.match(text, p))
        return [p + 1]

    def name_ends(self, start: int, end: int) -> list[int]:
        """Where a prefixed name beginning in the name-character run `start:end` may end."""
        text = self.text
        if start >= self.stop:  # once per stretch: `a.a.a...` stays linear
            self.stop = _NAMEDOT.match(text, start).end()  # type: ignore[union-attr]
        stop = self.stop
        if stop >= len(text) or text[stop] != ":" or text[stop - 1] == ".":
            return []  # no ':' after the name characters, or a prefix ending with '.'
        for i in range(start, end):  # every start gives the same name end: take the first
            if _LETTER.match(text, i):
                return _cuts(i, _PNAME.match(text, i))
        return []


def _cuts(start: int, name: re.Match[str] | None) -> list[int]:
    """The end of a prefixed name, and after each '.' in it: the parser may stop there."""
    if name is None:
        return [start + 1]
    return [name.end()] + [start + k + 1 for k, ch in enumerate(name.group()) if ch == "."]


def _line_column(text: str, p: int) -> tuple[int, int]:
    return text.count("\n", 0, p) + 1, p - (text.rfind("\n", 0, p) + 1) + 1


def _eol(text: str, p: int) -> int:
    found = _EOL.search(text, p)
    return found.start() if found else len(text)


def _keyword_at(text: str, p: int) -> bool:
    """Could the seven characters at `p` be the keyword, judged by their neighbours?"""
    if p > 0 and text[p - 1] in _NOT_BEFORE:
        return False
    q = p + 7
    while q < len(text):  # whitespace and comments may separate SERVICE from what follows
        if text[q].isspace():
            q += 1
        elif text[q] == "#":
            q = _eol(text, q)
        else:
            break
    return q < len(text) and text[q] not in _NOT_AFTER
