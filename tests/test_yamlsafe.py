"""Strict YAML: safe, positioned, and free of YAML 1.1 surprises."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from pipeline.yamlsafe import YamlError, load


def test_values_and_positions() -> None:
    doc = load(b"a:\n  - x: 1\n    y: 'no'\n  - 2.5\n")
    assert doc.data == {"a": [{"x": 1, "y": "no"}, 2.5]}
    assert doc.positions[("a", 0, "y")] == (3, 8)
    assert doc.key_positions[("a", 0, "y")] == (3, 5)
    assert doc.raw_scalars[("a", 1)] == "2.5"


def test_plain_dates_stay_text() -> None:
    assert load(b"d: 2024-02-30\n").data == {"d": "2024-02-30"}


def test_quoted_surprises_are_text() -> None:
    assert load(b'a: "no"\nb: "1.10"\nc: "on"\n').data == {"a": "no", "b": "1.10", "c": "on"}


@pytest.mark.parametrize(
    ("name", "text", "rule", "line"),
    [
        ("unquoted-no", b"a: 1\nb: no\n", "yaml-1.1-value", 2),
        ("unquoted-yes", b"b: Yes\n", "yaml-1.1-value", 1),
        ("unquoted-on-key", b"on: 1\n", "yaml-1.1-value", 1),
        ("octal-number", b"a: 010\n", "yaml-1.1-value", 1),
        ("sexagesimal", b"a: 1:20\n", "yaml-1.1-value", 1),
        ("infinity", b"a: .inf\n", "yaml-1.1-value", 1),
        ("python-tag", b"a: !!python/object/apply:os.system ['true']\n", "yaml-tag", 1),
        ("custom-tag", b"a: !ref x\n", "yaml-tag", 1),
        ("anchor", b"a: &x 1\nb: *x\n", "yaml-alias", 1),
        ("alias-bomb", b"a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n", "yaml-alias", 1),
        ("duplicate-key", b"a: 1\nb: 2\na: 3\n", "yaml-duplicate-key", 3),
        ("tab-indent", b"a:\n\t- 1\n", "yaml-syntax", 2),
        ("bom", b"\xef\xbb\xbfa: 1\n", "yaml-encoding", 1),
        ("invalid-utf8", b"a: 1\nb: \xff\xfe\n", "yaml-encoding", 2),
        ("unclosed-flow", b"a: [1, 2\nb: 3\n", "yaml-syntax", 2),
        ("two-documents", b"a: 1\n---\nb: 2\n", "yaml-syntax", 2),
    ],
)
def test_rejected(name: str, text: bytes, rule: str, line: int) -> None:
    with pytest.raises(YamlError) as info:
        load(text)
    assert info.value.rule == rule, info.value.message
    assert info.value.line == line
    assert info.value.message


PAYLOADS = {
    "python-object-apply": b"a: !!python/object/apply:os.system ['touch {m}']\n",
    "python-object-new": b"a: !!python/object/new:os.system ['touch {m}']\n",
    "python-object-new-in-list": (
        b"a:\n  - !!python/object/new:subprocess.check_call [[touch, {m}]]\n"
    ),
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_nothing_is_executed(name: str, tmp_path: Path) -> None:
    control, marker = tmp_path / "control", tmp_path / "marker"
    yaml.unsafe_load(PAYLOADS[name].replace(b"{m}", str(control).encode()))
    assert control.exists()  # the payload is live: an unsafe loader runs it
    with pytest.raises(YamlError) as info:
        load(PAYLOADS[name].replace(b"{m}", str(marker).encode()))
    assert info.value.rule == "yaml-tag"
    assert not marker.exists()


def test_billion_laughs_rejected_fast() -> None:
    levels = [b'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        refs = ", ".join([f"*{prev}"] * 10)
        levels.append(f"{name}: &{name} [{refs}]".encode())
    bomb = b"\n".join(levels) + b"\n"
    start = time.perf_counter()
    with pytest.raises(YamlError) as info:
        load(bomb)
    assert time.perf_counter() - start < 1.0  # a security property: 10**9 strings if expanded
    assert (info.value.rule, info.value.line) == ("yaml-alias", 1)
