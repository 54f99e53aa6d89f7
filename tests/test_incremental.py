"""An incremental build (load cache) writes exactly what a full build writes.

Builds a small generated catalogue with the cache, edits one condition file, rebuilds with the
cache and compares dist/ byte for byte with a build of the same data without any cache.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipeline.build import build, run_pipeline
from pipeline.cache import FOLDER, LANGUAGE_MEMO, LoadCache
from tests.conftest import ROOT


def _generate(n: int, out: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(n, out)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue") / "data"
    _generate(4, folder)
    return folder


def test_incremental_build_is_byte_identical_to_a_full_build(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRAMPKG_NO_CACHE", raising=False)
    warm = build(data, tmp_path / "inc" / "dist")
    assert warm.report.conforms
    cache = tmp_path / "inc" / FOLDER
    entries = set(p.name for p in cache.iterdir())
    # one entry per file, plus the schema.org tables and the compiled shapes
    assert len(entries - {LANGUAGE_MEMO}) == len(list(data.rglob("*.yaml"))) + 2

    edited = sorted((data / "conditions").glob("*.yaml"))[1]
    edited.write_text(edited.read_text().replace("stance: supports", "stance: hypothesis", 1))
    incremental = build(data, tmp_path / "inc" / "dist")
    assert incremental.report.conforms
    assert len(entries - set(p.name for p in cache.iterdir())) == 1  # the old entry was pruned

    monkeypatch.setenv("CRAMPKG_NO_CACHE", "1")
    full = build(data, tmp_path / "full" / "dist")
    assert not (tmp_path / "full" / FOLDER).exists()
    assert _tree(tmp_path / "inc" / "dist") == _tree(tmp_path / "full" / "dist")
    assert incremental.files == full.files


def test_cache_reuses_unchanged_files_only(data: Path, tmp_path: Path) -> None:
    cache = LoadCache(tmp_path / FOLDER)
    run_pipeline(data, validate=False, export=False, cache=cache)
    assert (cache.hits, cache.misses) == (0, len(list(data.rglob("*.yaml"))))
    again = LoadCache(tmp_path / FOLDER)
    source = sorted((data / "sources").glob("*.yaml"))[0]
    source.write_text(source.read_text() + "\n")
    first = run_pipeline(data, validate=False, export=False, cache=again)
    assert again.misses == 1 and again.hits == len(list(data.rglob("*.yaml"))) - 1
    fresh = run_pipeline(data, validate=False, export=False)
    assert first.corpus == fresh.corpus
    assert [p.format() for p in first.report.problems] == [
        p.format() for p in fresh.report.problems
    ]


def test_cached_records_keep_their_fields_positions(data: Path, tmp_path: Path) -> None:
    """Origins are compact (shared field names, one array of positions) and survive the cache."""
    run_pipeline(data, validate=False, export=False, cache=LoadCache(tmp_path / FOLDER))
    again = LoadCache(tmp_path / FOLDER)
    cached = run_pipeline(data, validate=False, export=False, cache=again).corpus
    fresh = run_pipeline(data, validate=False, export=False).corpus
    assert cached is not None and fresh is not None and again.misses == 0
    for cid, claim in fresh.claims.items():
        origin = claim.origin
        assert origin.at("evidence.0.quote").line > origin.at("id").line > 0
        assert origin.at("no.such.field") == origin.item
        for key in origin.keys:
            assert cached.claims[cid].origin.at(key) == origin.at(key)
    assert len({id(c.origin.keys) for c in fresh.claims.values()}) < len(fresh.claims) / 10
