"""The command line: exit codes, help, reports, and an output folder that is never half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import ROOT


def run(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "build" in result.stdout and "validate" in result.stdout
    assert "Exit codes" in result.stdout


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["build", "--no-such-flag"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2


def test_build_ok(minimal_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    files = snapshot(out)
    assert {
        "graph.ttl",
        "graph.nt",
        "graph.jsonld",
        "context.jsonld",
        "ontology.ttl",
        "validation/report.ttl",
        "validation/report.txt",
        "manifest.json",
    } <= set(files)
    manifest = json.loads(files["manifest.json"])
    listed = {f["path"] for f in manifest["files"]}
    assert listed == set(files) - {"manifest.json"}


def test_validate_json_report(minimal_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (minimal_copy / "claims/test-article.yaml").write_text(
        (minimal_copy / "claims/test-article.yaml")
        .read_text()
        .replace("stance: supports", "stance: maybe", 1)
    )
    assert main(["validate", "-q", "--format", "json", "--data", str(minimal_copy)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["conforms"] is False
    assert any(p["rule"] == "not-in-list" and p["location"]["line"] for p in report["problems"])


def test_nonconforming_build_leaves_previous_dist(minimal_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    before = snapshot(out)
    claims = minimal_copy / "claims/test-article.yaml"
    claims.write_text(claims.read_text().replace("object: muscle-fatigue", "object: nope"))
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 1
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".dist.staging-*"))


def test_unreadable_input_exit_2(minimal_copy: Path, tmp_path: Path) -> None:
    (minimal_copy / "entities/entities.yaml").write_bytes(b"entities: [\n")
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(tmp_path / "d")]) == 2
    assert not (tmp_path / "d").exists()


def test_killed_build_leaves_previous_dist(minimal_copy: Path, tmp_path: Path) -> None:
    """A build killed while writing leaves the old dist/ whole and is cleaned up next time."""
    out = tmp_path / "dist"
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    before = snapshot(out)
    code = (
        "import os, pipeline.distdir as d\n"
        "real = d._fsync_dir\n"
        "def die(path):\n"
        "    if '.staging-' in str(path): os._exit(9)\n"
        "    real(path)\n"
        "d._fsync_dir = die\n"
        "from pipeline.cli import main\n"
        f"main(['build', '-q', '--data', {str(minimal_copy)!r}, '--out', {str(out)!r}])\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, timeout=300)
    assert killed.returncode == 9
    assert snapshot(out) == before
    assert list(tmp_path.glob(".dist.staging-*"))  # the debris of the killed build
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    assert not list(tmp_path.glob(".dist.staging-*"))


def test_disk_full_leaves_previous_dist(
    minimal_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "dist"
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    before = snapshot(out)
    import errno

    from pipeline import distdir

    real_fsync = os.fsync
    calls = {"n": 0}

    def full(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(distdir.os, "fsync", full)
    assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 2
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".dist.staging-*"))
