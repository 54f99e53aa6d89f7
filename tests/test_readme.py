"""The README's guarantees name the tests that hold them: every name must exist.

Datasette-style docs checked by tests: a renamed or deleted test turns this red instead of
leaving the README pointing at nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_GUARANTEES = README[README.index("## Guarantees") : README.index("## Dependencies")]
# `tests/file.py` and `tests/file.py::test_name`; a bare `::test_name` refers to the last file
_REF = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def _references() -> list[tuple[str, str | None]]:
    found, current = [], None
    for m in _REF.finditer(_GUARANTEES):
        path, name = m.group(1), m.group(2)
        if path is None and name is None:
            continue
        current = path or current
        assert current is not None, f"`::{name}` before any file in the README"
        found.append((current, name))
    return found


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


REFERENCES = _references()


def test_the_guarantees_name_tests() -> None:
    assert len(REFERENCES) >= 20, "the Guarantees section should point at its tests"
    assert {str(i) for i in range(1, 13)} <= set(re.findall(r"^\s*(\d+)\.", _GUARANTEES, re.M))


@pytest.mark.parametrize(("path", "name"), REFERENCES, ids=[f"{p}::{n}" for p, n in REFERENCES])
def test_named_test_exists(path: str, name: str | None) -> None:
    file = ROOT / path
    assert file.is_file(), f"README names {path}, which does not exist"
    if name is not None:
        assert name in _test_names(file), f"README names {path}::{name}, which does not exist"
