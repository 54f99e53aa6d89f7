"""Golden files: every export of the minimal corpus, byte for byte.

After an intended change, regenerate with `make golden` (pytest --update-golden) and review
the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.build import run_pipeline
from tests.conftest import MINIMAL, ROOT

GOLDEN = ROOT / "tests" / "golden" / "minimal"


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    # The fixture sits inside this repository: hide the git commit, which changes every commit.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CEILING_DIRECTORIES", str(MINIMAL.parent))
        result = run_pipeline(MINIMAL)
    assert result.report.conforms, result.report.to_text()
    return result.files


def _golden_names() -> list[str]:
    return sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file())


def test_same_file_set(outputs: dict[str, bytes], update_golden: bool) -> None:
    if update_golden:
        for stale in set(_golden_names()) - set(outputs):
            (GOLDEN / stale).unlink()
        for name, data in outputs.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    assert sorted(outputs) == _golden_names()


@pytest.mark.parametrize("name", _golden_names() or ["graph.ttl"])
def test_export_matches_golden(name: str, outputs: dict[str, bytes], update_golden: bool) -> None:
    path: Path = GOLDEN / name
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outputs[name])
    assert path.exists(), f"no golden file {name}: run `make golden`"
    assert outputs[name] == path.read_bytes(), (
        f"{name} differs from tests/golden/minimal/{name}; if the change is intended, "
        "run `make golden` and review the diff"
    )
