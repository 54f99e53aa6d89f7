"""Issue 9, case 7: two builds at once into the same `dist/`.

Two real `crampkg build` processes of two different data folders (their dataset titles differ,
so the winner can be told) write into one output folder. One waits for the other's lock (or,
past the lock's timeout, fails with exit code 2 and says why); afterwards the folder is exactly
one of the two builds, its manifest lists every file with the right SHA-256, and no staging,
old or temporary file is left.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.distdir import locked
from pipeline.exporters import EXPORTERS
from tests.conftest import MINIMAL, ROOT

LOCKED_MESSAGE = "another crampkg build is writing"


def crampkg(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", *map(str, args)]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@dataclass(frozen=True)
class Inputs:
    data: dict[str, Path]  # data folders "a" and "b"
    alone: dict[str, dict[str, bytes]]  # what a build of each alone writes
    cache: Path  # the load cache those builds left, copied beside each race's output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    root = tmp_path_factory.mktemp("inputs")
    data, alone = {}, {}
    for name in ("a", "b"):
        data[name] = root / f"data-{name}"
        shutil.copytree(MINIMAL, data[name])
        dataset = data[name] / "dataset.yaml"
        text = dataset.read_text("utf-8")
        dataset.write_text(text.replace("Minimal test corpus", f"Concurrent build {name}"))
        out = root / f"alone-{name}"
        assert main(["build", "-q", "--data", str(data[name]), "--out", str(out)]) == 0
        alone[name] = snapshot(out)
    assert alone["a"] != alone["b"]
    return Inputs(data, alone, root / ".crampkg-cache")


def assert_whole(out: Path) -> None:
    """The manifest lists exactly the other files, each with its size and SHA-256."""
    files = snapshot(out)
    manifest = json.loads(files.pop("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(files)
    for path, data in files.items():
        assert listed[path]["bytes"] == len(data), path
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path


def assert_no_leftovers(parent: Path) -> None:
    names = {p.name for p in parent.iterdir()}
    assert names <= {"dist", ".dist.lock", ".crampkg-cache"}, names
    cache = parent / ".crampkg-cache"
    assert not cache.exists() or not list(cache.glob("*.tmp"))


def start_build(data: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        crampkg("build", "--data", data, "--out", out),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_exported(proc: subprocess.Popen[str]) -> None:
    """Read the build's stage progress until its last exporter is done."""
    last_export = f"export:{list(EXPORTERS)[-1]}"
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if last_export in line:
            return
    raise AssertionError(f"the build stopped before {last_export}: {seen}")


@contextmanager
def killed_on_failure(procs: list[subprocess.Popen[str]]) -> Iterator[None]:
    """Never leave a build of ours running when an assertion fails while it waits."""
    try:
        yield
    except BaseException:
        for proc in procs:
            proc.kill()
            proc.wait()
        raise


RACES = [  # (how the two builds meet, what is in --out before, attempt)
    *[("released-together", p, n) for p in ("no-previous-dist", "previous-dist") for n in (1, 2)],
    *[("free-running", p, 1) for p in ("no-previous-dist", "previous-dist")],
]


@pytest.mark.parametrize(("meeting", "previous", "attempt"), RACES)
def test_two_builds_at_once(
    meeting: str,
    previous: str,
    attempt: int,
    inputs: Inputs,
    tmp_path: Path,
) -> None:
    """`released-together`: the test holds the lock until both builds have exported, so both
    are waiting when it is released and race for it; `free-running`: they just start at once."""
    del attempt  # repeated to shake out races
    out = tmp_path / "dist"
    shutil.copytree(inputs.cache, tmp_path / ".crampkg-cache")
    if previous == "previous-dist":
        assert main(["build", "-q", "--data", str(MINIMAL), "--out", str(out)]) == 0
    if meeting == "released-together":
        with locked(out):
            procs = [start_build(inputs.data[name], out) for name in ("a", "b")]
            with killed_on_failure(procs):
                for proc in procs:
                    wait_until_exported(proc)
                assert all(proc.poll() is None for proc in procs)
    else:
        procs = [start_build(inputs.data[name], out) for name in ("a", "b")]
    results = [(p.communicate(timeout=300)[1], p.returncode) for p in procs]
    for err, code in results:
        assert code == 0 or (code == 2 and LOCKED_MESSAGE in err), (code, err)
    assert 0 in [code for _, code in results]
    final = snapshot(out)
    assert final in (inputs.alone["a"], inputs.alone["b"])  # exactly one build, never a mix
    assert_whole(out)
    assert_no_leftovers(tmp_path)


def test_second_build_waits_for_the_lock(inputs: Inputs, tmp_path: Path) -> None:
    """While another build holds the lock, a finished build waits and writes nothing."""
    out = tmp_path / "dist"
    shutil.copytree(inputs.cache, tmp_path / ".crampkg-cache")
    with locked(out):
        proc = start_build(inputs.data["a"], out)
        with killed_on_failure([proc]):
            wait_until_exported(proc)
            time.sleep(3.0)  # ample for the write, were it not waiting
            assert proc.poll() is None, "the build did not wait for the lock"
            assert not out.exists()
    rest = proc.communicate(timeout=300)[1]
    assert proc.returncode == 0, rest
    assert snapshot(out) == inputs.alone["a"]
    assert_whole(out)
    assert_no_leftovers(tmp_path)


def test_build_that_cannot_get_the_lock_fails_clearly(inputs: Inputs, tmp_path: Path) -> None:
    """Past the lock's timeout (shortened to 1 s here) the build exits 2, saying why."""
    out = tmp_path / "dist"
    assert main(["build", "-q", "--data", str(inputs.data["b"]), "--out", str(out)]) == 0
    code = (
        "import sys, pipeline.distdir as d\n"
        "d.locked.__wrapped__.__defaults__ = (1.0,)\n"
        "from pipeline.cli import main\n"
        f"args = ['build', '-q', '--data', {str(inputs.data['a'])!r}, '--out', {str(out)!r}]\n"
        "sys.exit(main(args))\n"
    )
    with locked(out):
        run = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert run.returncode == 2, run.stderr
    assert f"crampkg: {LOCKED_MESSAGE} {out}; waited 1 s" in run.stderr
    assert snapshot(out) == inputs.alone["b"]  # the previous build, untouched
    assert_no_leftovers(tmp_path)
