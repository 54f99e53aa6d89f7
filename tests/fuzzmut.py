"""Hypothesis strategies that break valid data folders (tests/test_fuzz.py).

`broken()` draws a valid folder (tests/fuzzgen.py) and applies one mutation to one of its
files: the slips a curator makes (a deleted, doubled or mis-indented line, a tab, an unknown
key, a value of the wrong type, a file cut short) and the attacks a hostile file carries (tags
that would construct objects, anchors and alias bombs, deep nesting, a BOM, invalid UTF-8,
random bytes). A mutation may leave the data valid; the property allows that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.fuzzgen import Folder, folders

TAGGED = (
    '!!python/object/apply:os.system ["true"]',
    "!!python/name:os.system",
    "!<tag:yaml.org,2002:python/object/new:builtins.print> [1]",
    "!ref muscle-cramp",
    "!!binary aGVsbG8=",
    "!!set {a: null}",
    "!!omap [a: 1]",
    "!!timestamp 2024-01-01",
    "!!int 3",
    "!!float 1.5",
    "!!str x",
    "!!null ''",
    "!!bool yes",
)
VALUES = (
    *("[1, 2]", "{a: 1}", "12", "-1", "0", "1.10", "1e3", "0x1F", "0o17", "1_000", ".inf", ".nan"),
    *("true", "no", "on", "Yes", "null", "~", "2024-02-30", "2024-03-03", "12:30:00", "''", '""'),
    *("-", "|", ">", "'unterminated", "[unclosed", "{a: 1, a: 2}", "*undefined", "&anchor x"),
    *("? complex", "@reserved", "`tick", "%percent", "x: y: z", "- a", "[[[[[]]]]]", '"\\x"'),
    *('"\\uD800"', '"https://a b/"', '"javascript:alert(1)"', '"http://a/%zz/"', '"http://a/<x>/"'),
    *('"../../../../etc/passwd"', '"/etc/passwd"', '"\\0"', '"x\\0y"', '"con:"', '"C:\\\\x"'),
    *('"a\\u2028b"', '"\\t"', '" "', '"10.1234/ab cd"', '"ftp://example.org/"', '"en_US"'),
    '"' + "x" * 20_000 + '"',
)
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)

Mutation = Callable[[st.DrawFn, bytes], bytes]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _at(draw: st.DrawFn, lines: list[bytes]) -> int:
    return draw(st.integers(0, max(0, len(lines) - 1)))


def _edit_line(edit: Callable[[st.DrawFn, bytes], bytes]) -> Mutation:
    def mutate(draw: st.DrawFn, data: bytes) -> bytes:
        lines = _lines(data)
        i = _at(draw, lines)
        lines[i] = edit(draw, lines[i])
        return b"\n".join(lines)

    return mutate


def _replace_value(draw: st.DrawFn, line: bytes, choices: tuple[str, ...]) -> bytes:
    head, sep, _ = line.partition(b": ")
    if not sep:
        head, sep, _ = line.partition(b"- ")
    return head + (sep or b": ") + draw(st.sampled_from(choices)).encode()


def _delete_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[_at(draw, lines)]
    return b"\n".join(lines)


def _duplicate_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = _at(draw, lines)
    return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])


def _swap_lines(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = _at(draw, lines), _at(draw, lines)
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _unknown_key(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = _at(draw, lines)
    indent = len(lines[i]) - len(lines[i].lstrip(b" -"))
    key = draw(st.sampled_from(["frobnicate", "Label", "label ", "__proto__", "@id", "ID"]))
    return b"\n".join([*lines[: i + 1], b" " * indent + f"{key}: 1".encode(), *lines[i + 1 :]])


def _anchor_alias(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = sorted((_at(draw, lines), _at(draw, lines)))
    lines[i] = _replace_value(draw, lines[i], ("&a x",))
    lines[j] = _replace_value(draw, lines[j], ("*a", "[*a, *a]", "{<<: *a}"))
    return b"\n".join(lines)


def _insert(draw: st.DrawFn, data: bytes, chunk: bytes) -> bytes:
    k = draw(st.integers(0, len(data)))
    return data[:k] + chunk + data[k:]


def _deep(draw: st.DrawFn, data: bytes, max_depth: int) -> bytes:
    depth = draw(st.integers(1, max_depth))
    nested = draw(st.sampled_from(["[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth]))
    return data + f"\nnested: {nested}\n".encode()


def mutations(max_depth: int) -> dict[str, Mutation]:
    """Mutation name -> function; nesting goes at most `max_depth` levels deep."""
    return {
        "delete-line": _delete_line,
        "duplicate-line": _duplicate_line,
        "swap-lines": _swap_lines,
        "truncate": lambda d, data: data[: d(st.integers(0, max(0, len(data) - 1)))],
        "random-bytes": lambda d, data: _insert(d, data, d(st.binary(min_size=1, max_size=16))),
        "invalid-utf8": lambda d, data: _insert(d, data, d(st.sampled_from([b"\xff", b"\xc3("]))),
        "nul-byte": lambda d, data: _insert(d, data, b"\x00"),
        "bom": lambda d, data: b"\xef\xbb\xbf" + data,
        "tab-indent": _edit_line(lambda d, line: b"\t" + line.lstrip(b" ")),
        "shift-indent": _edit_line(lambda d, line: b" " * d(st.integers(1, 3)) + line),
        "dedent": _edit_line(lambda d, line: line[d(st.integers(1, 4)) :]),
        "unknown-key": _unknown_key,
        "tag": _edit_line(lambda d, line: _replace_value(d, line, TAGGED)),
        "wrong-value": _edit_line(lambda d, line: _replace_value(d, line, VALUES)),
        "anchor-alias": _anchor_alias,
        "alias-bomb": lambda d, data: BILLION_LAUGHS.encode(),
        "merge-key": lambda d, data: data + b"\n<<: {dataset: {title: x}}\n",
        "second-document": lambda d, data: data + b"\n---\ndataset: {title: x}\n",
        "deep-nesting": lambda d, data: _deep(d, data, max_depth),
        "empty": lambda d, data: b"",
        "random-file": lambda d, data: d(st.binary(max_size=64)),
        "cr-line-ends": lambda d, data: data.replace(b"\n", b"\r"),
    }


@dataclass
class Broken:
    """A folder's files with one mutated; `what` says which file and how (for failures)."""

    files: dict[str, bytes]
    what: str


KINDS = (*sorted(mutations(1)), "edited-snapshot")


@st.composite
def broken(draw: st.DrawFn, kind: str, avoid: frozenset[str] = frozenset()) -> Broken:
    """A valid folder with one file broken by the mutation `kind` (one of KINDS)."""
    folder: Folder = draw(folders(avoid))
    files = folder.files()
    if kind == "edited-snapshot":  # changed after curation: its quotes are orphaned
        name = draw(st.sampled_from(sorted(n for n in files if n.endswith(".txt"))))
        files[name] += draw(st.sampled_from([b"Edited.", b"\xff", b" "]))
    else:
        name = draw(st.sampled_from(sorted(n for n in files if n.endswith(".yaml"))))
        files[name] = mutations(max_depth=5000)[kind](draw, files[name])  # stack: about 1000
    return Broken(files, f"{name}: {kind}")
