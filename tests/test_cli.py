"""The command line: exit codes, help, reports, and an output folder that is never half-written."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
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


# ------------------------------------------------------------------ issue 9, case 6: faults

# Runs `crampkg build` with one function replaced by a wrapper that SIGKILLs the process on
# the chosen call, before or after the real function runs: a kill at that point of the build.
KILLER = """
import importlib, os, signal, sys
module, attr, when, nth = sys.argv[1:5]
owner = importlib.import_module(module)
*parents, name = attr.split(".")
for parent in parents:
    owner = getattr(owner, parent)
real, calls = getattr(owner, name), [0]
def killed(*args, **kwargs):
    calls[0] += 1
    if when == "before" and calls[0] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    if when == "after" and calls[0] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, name, killed)
from pipeline.cli import main
sys.exit(main(sys.argv[5:]))
"""
KILL_POINTS = {  # stage -> (module, function, kill before/after its call, which call)
    "load": ("pipeline.build", "load_corpus", "after", 1),
    "triage": ("pipeline.build", "triage", "after", 1),
    "graph": ("pipeline.build", "build_graph", "after", 1),
    "validate": ("pipeline.validate", "validate_graph", "after", 1),
    "exports": ("pipeline.distdir", "Staging.write", "after", 5),  # 5 files staged
    "manifest": ("pipeline.build", "build_manifest", "after", 1),
    "swap": ("pipeline.distdir", "_exchange", "before", 1),  # staged and synced, not swapped
    "after-swap": ("pipeline.distdir", "_exchange", "after", 1),  # swapped, old not removed
}


def _edit_title(data: Path) -> None:
    """Change the data, so that the old and the new build can be told apart."""
    path = data / "dataset.yaml"
    path.write_text(path.read_text().replace("Minimal test corpus", "Minimal test corpus, v2"))


def _assert_whole(out: Path) -> None:
    """Exactly the files the manifest lists, each with its SHA-256: no partial file."""
    files = snapshot(out)
    manifest = json.loads(files.pop("manifest.json"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert {p: hashlib.sha256(b).hexdigest() for p, b in files.items()} == listed


@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_build_killed_at_stage_leaves_previous_dist(
    stage: str, minimal_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    build = ["build", "-q", "--data", str(minimal_copy), "--out", str(out)]
    assert main(build) == 0
    before = snapshot(out)
    _edit_title(minimal_copy)
    module, function, when, nth = KILL_POINTS[stage]
    argv = [sys.executable, "-c", KILLER, module, function, when, str(nth), *build]
    killed = subprocess.run(argv, check=False, cwd=ROOT, timeout=300, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    _assert_whole(out)
    if stage == "after-swap":  # the swap is the commit point: the new build, whole
        assert main([*build[:-1], str(tmp_path / "fresh")]) == 0
        assert snapshot(out) == snapshot(tmp_path / "fresh")
    else:
        assert snapshot(out) == before
    assert main(build) == 0  # the next build succeeds and removes the killed one's debris
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".dist.")) == [
        ".dist.lock"
    ]


def _fsync_calls(minimal_copy: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many fsyncs a build of the minimal corpus makes (files, folders, the swap)."""
    from pipeline import distdir

    real, calls = os.fsync, [0]

    def counting(fd: int) -> None:
        calls[0] += 1
        real(fd)

    with monkeypatch.context() as m:
        m.setattr(distdir.os, "fsync", counting)
        assert main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)]) == 0
    return calls[0]


DISK_FULL_AT = {  # which fsync fails, given how many files and fsyncs a build has
    "first-file": lambda files, total: 1,
    "middle-file": lambda files, total: files // 2,
    "last-file": lambda files, total: files,  # manifest.json, written last
    "staging-folder": lambda files, total: files + 1,  # commit: the staged folders
    "after-swap": lambda files, total: total,  # the output's parent folder, after the swap
}


@pytest.mark.parametrize(
    "where",
    [
        *DISK_FULL_AT,
    ],
)
def test_disk_full_at_each_write_step_leaves_a_whole_dist(
    where: str,
    minimal_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline import distdir

    out = tmp_path / "dist"
    total = _fsync_calls(minimal_copy, out, monkeypatch)
    before = snapshot(out)
    assert total > len(before) + 1
    _edit_title(minimal_copy)
    fail_at = DISK_FULL_AT[where](len(before), total)
    real, calls = os.fsync, [0]

    def full(fd: int) -> None:
        calls[0] += 1
        if calls[0] == fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(distdir.os, "fsync", full)
        code = main(["build", "-q", "--data", str(minimal_copy), "--out", str(out)])
    message = capsys.readouterr().err
    assert code == 2 and "No space left on device" in message
    _assert_whole(out)
    assert not list(tmp_path.glob(".dist.staging-*")) and not list(tmp_path.glob(".dist.old-*"))
    if snapshot(out) == before:
        assert "the previous output is unchanged" in message
    else:  # past the swap the new build is whole in place, and the message must say so
        assert "unchanged" not in message


def test_file_size_limit_leaves_previous_dist(minimal_copy: Path, tmp_path: Path) -> None:
    """A real write error from the kernel (EFBIG under RLIMIT_FSIZE), not a patched call."""
    out = tmp_path / "dist"
    build = ["build", "-q", "--data", str(minimal_copy), "--out", str(out)]
    assert main(build) == 0
    before = snapshot(out)
    _edit_title(minimal_copy)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))\n"
        "from pipeline.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = [sys.executable, "-c", code, *build]
    limited = subprocess.run(
        argv, check=False, cwd=ROOT, timeout=300, text=True, capture_output=True
    )
    assert limited.returncode == 2
    assert "File too large; the previous output is unchanged" in limited.stderr
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".dist.staging-*"))
