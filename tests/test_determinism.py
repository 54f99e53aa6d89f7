"""Same data, same bytes: whatever the hash seed or the order files are listed in."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.build import run_pipeline
from tests.conftest import DATA, MINIMAL, ROOT


def _build(data: Path, out: Path, seed: str) -> dict[str, bytes]:
    subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "-q", "--data", str(data), "--out", str(out)],
        cwd=ROOT,
        check=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("data", [MINIMAL, DATA], ids=["minimal", "corpus"])
def test_hash_seed_does_not_matter(data: Path, tmp_path: Path) -> None:
    a = _build(data, tmp_path / "a", "1")
    b = _build(data, tmp_path / "b", "4242")
    assert a == b


def test_file_order_does_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = run_pipeline(DATA).files
    real_rglob = Path.rglob

    def shuffled(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        found = list(real_rglob(self, pattern))
        random.Random(7).shuffle(found)
        found.reverse()
        return iter(found)

    monkeypatch.setattr(Path, "rglob", shuffled)
    assert run_pipeline(DATA).files == reference


def test_source_date_epoch_is_the_only_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert b"buildTime" not in run_pipeline(MINIMAL).files["manifest.json"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert (
        b'"buildTime": "2023-11-14T22:13:20+00:00"' in run_pipeline(MINIMAL).files["manifest.json"]
    )
