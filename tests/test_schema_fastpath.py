"""The fast schema check (jsonschema-rs) never calls valid what the Python validator refuses.

`pipeline.load` trusts jsonschema-rs only when it says "valid" and otherwise asks the Python
`jsonschema` validator for the located errors, so exactness needs one direction: rs-valid
implies Python-valid. Checked on every data file of the corpus and the fixtures, and on
thousands of variants made by replacing one value at a time with values that trip validators
up differently (calendar dates, trailing newlines, bools as numbers, huge numbers...).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import yamlsafe
from pipeline.schemacheck import _fast_validator, _validator
from tests.conftest import DATA, MINIMAL

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for folder in (DATA, MINIMAL, ROOT / "tests" / "fixtures")
    for p in folder.rglob("*.yaml")
    if "hostile" not in p.parts or p.suffix == ".yaml"
)
TRICKY: list[Any] = [
    "",
    " ",
    "x\n",
    "muscle-cramp\n",
    "2024-02-30",
    "2023-02-29",
    "2024-02-29",
    "2024-2-1",
    "0000-01-01",
    "\uff11\uff12\uff13",  # full-width digits
    "a" * 10001,
    "https://example.org/x\n",
    0,
    -1,
    1.5,
    1.0,
    10**30,
    float("inf"),
    True,
    False,
    None,
    [],
    {},
    ["x"],
    {"x": 1},
]


def _docs() -> list[tuple[str, Any]]:
    out = []
    for path in FILES:
        try:
            data = yamlsafe.load(path.read_bytes()).data
        except yamlsafe.YamlError:
            continue  # unreadable fixtures never reach the schema
        if data is not None:
            out.append((path.relative_to(ROOT).as_posix(), data))
    return out


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):  # a few items of long lists are enough
            yield from _leaves(v, (*path, i))
    if path:
        yield path


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


DOCS = _docs()


def _python_valid(doc: Any) -> bool:
    return not any(True for _ in _validator().iter_errors(doc))


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[n for n, _ in DOCS])
def test_fast_path_agrees_on_every_file(name: str, doc: Any) -> None:
    assert _fast_validator().is_valid(doc) == _python_valid(doc), name


def test_fast_path_never_accepts_what_python_refuses() -> None:
    fast = _fast_validator()
    checked = disagreements = 0
    small = [(n, d) for n, d in DOCS if len(repr(d)) < 20000]  # keep it to seconds
    for name, doc in small:
        for path in list(_leaves(doc))[:40]:
            for value in TRICKY:
                variant = _replace(doc, path, value)
                if fast.is_valid(variant):
                    checked += 1
                    assert _python_valid(variant), (name, path, value)
                else:
                    disagreements += _python_valid(variant)  # stricter: just slower
    assert checked > 100  # the variants did exercise the fast path
    assert disagreements < checked  # and it is not simply refusing everything


def test_calendar_dates_are_checked_by_both() -> None:
    source = next(d for n, d in DOCS if "source" in d and "updated" in d["source"])
    assert _fast_validator().is_valid(source)
    for bad in ("2024-02-30", "2023-02-29", "2024-13-01"):
        variant = _replace(source, ("source", "updated"), bad)
        assert not _fast_validator().is_valid(variant), bad
        assert not _python_valid(variant), bad
