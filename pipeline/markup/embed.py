"""JSON for a `<script type="application/ld+json">` element, and the same JSON as a file.

Inside a script element the HTML parser ends the element at the first `</script` and treats
`<!--` specially, whatever the JSON means; HTML character references are *not* decoded there,
so entities would change the data. JSON's own `\\uXXXX` escapes are the answer: `<`, `>` and
`&` (and U+2028/U+2029, line terminators to older JavaScript) are written as escapes, which
only occur inside JSON strings, so the text parses back to exactly the same data.
"""

from __future__ import annotations

from typing import Any

from pipeline import jsonout

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_TABLE = str.maketrans(_ESCAPES)


def jsonld_file(doc: Any) -> bytes:
    """The document as a UTF-8 file: indented, keys in the order they were built."""
    return (jsonout.dumps(doc, indent=2) + "\n").encode("utf-8")


def script_json(doc: Any) -> str:
    """The document as text that is safe between `<script ...>` and `</script>`."""
    return jsonout.dumps(doc, indent=1).translate(_TABLE)


def script_element(doc: Any) -> str:
    return f'<script type="application/ld+json">\n{script_json(doc)}\n</script>'
