"""Writing `dist/` all at once: build into a staging folder, then swap it in.

- A build holds an exclusive lock (`.<dist>.lock` beside it): a second build waits, then fails
  with a clear message if the first does not finish in time.
- Files are written and fsynced in `.<dist>.staging-*`; the swap is one atomic
  `renameat2(RENAME_EXCHANGE)` on Linux (two renames elsewhere), so readers see either the old
  or the new folder, never a mix. A killed build leaves only a staging folder, removed next time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class DistError(Exception):
    """The output folder cannot be written; the message says why, for people."""


class DistLocked(DistError):
    """Another build holds the lock on this output folder."""


@contextmanager
def locked(out: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the output folder's lock; wait at most `timeout` seconds (default 300, or the
    environment's CRAMPKG_LOCK_TIMEOUT) for another build to release it."""
    if timeout is None:
        timeout = float(os.environ.get("CRAMPKG_LOCK_TIMEOUT", "300"))
    out = _absolute(out)  # `--out .` and `--out $PWD` are the same folder and the same lock
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out.parent / f".{out.name}.lock"
    with lock_path.open("a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DistLocked(
                        f"another crampkg build is writing {out}; waited {timeout:.0f} s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _absolute(out: Path) -> Path:
    """`out` made absolute and normalised (`.` and `..` resolved, symlinks kept)."""
    path = Path(os.path.abspath(out))  # noqa: PTH100 (resolve() would follow symlinks)
    if not path.name:
        raise DistError(f"{out} cannot be an output folder: give a folder below it")
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False when the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path, keep: Path | None = None) -> None:
    """Remove staging and old folders left by builds that were killed.

    A staging folder is named after its build's process id, so the folder of a build that is
    still running elsewhere (staging while this one swaps) is kept, and so is `keep`.
    """
    staging_prefix = f".{out.name}.staging-"
    for pattern in (f"{staging_prefix}*", f".{out.name}.old-*"):
        for stale in out.parent.glob(pattern):
            if keep is not None and stale == keep:
                continue
            pid = stale.name.removeprefix(staging_prefix).split("-", 1)[0]
            running = pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid))
            if stale.name.startswith(staging_prefix) and running:
                continue
            shutil.rmtree(stale, ignore_errors=True)


class Staging:
    """A folder beside `out` that files are written into one by one, then swapped in whole.

    Writing as the exporters go keeps a large build's outputs out of memory; every file is
    fsynced and its size and SHA-256 are recorded for the manifest. Use as a context manager:
    leaving it without `commit()` (an error, a kill, data that does not conform) removes it.
    """

    def __init__(self, out: Path):
        self.out = _absolute(out)
        self._path: Path | None = None  # made at the first write: bad input leaves no trace
        self.digests: dict[str, tuple[int, str]] = {}

    @property
    def path(self) -> Path:
        if self._path is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            prefix = f".{self.out.name}.staging-{os.getpid()}-"
            self._path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.out.parent))
        return self._path

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._path is not None and self._path.exists():
            shutil.rmtree(self._path, ignore_errors=True)

    def write(self, rel: str, data: bytes | Iterable[bytes]) -> tuple[int, str]:
        """Write one file, whole or piece by piece; its size and SHA-256 are returned."""
        if rel in self.digests or rel.startswith(("/", "..")) or "/../" in f"/{rel}":
            raise ValueError(f"bad or repeated output path {rel!r}")
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        sha, size = hashlib.sha256(), 0
        with target.open("wb") as fh:
            for chunk in (data,) if isinstance(data, bytes) else data:
                fh.write(chunk)
                sha.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        self.digests[rel] = (size, sha.hexdigest())
        return self.digests[rel]

    def commit(self) -> None:
        """Swap the staged folder in for `out`, atomically; the caller holds `locked(out)`."""
        clean_stale(self.out, keep=self.path)
        staging, out = self.path, self.out
        for folder in sorted({p for p in staging.rglob("*") if p.is_dir()}, reverse=True):
            _fsync_dir(folder)
        staging.chmod(0o755)
        _fsync_dir(staging)
        if out.exists() and _exchange(staging, out):
            old: Path | None = staging  # it now holds the previous build
        elif out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            staging.rename(out)
        else:
            old = None
            staging.rename(out)
        # The new build is in place: from here on, a failure must not claim otherwise.
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)  # a leftover is removed by the next build
        try:
            _fsync_dir(out.parent)
        except OSError as exc:
            raise DistError(
                f"{out} now holds the new build, but syncing its folder failed "
                f"({exc.strerror or exc}); it may not survive a power cut"
            ) from exc


def write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Replace the folder `out` by exactly `files` (relative path -> content)."""
    with Staging(out) as stage:
        for rel in sorted(files):
            stage.write(rel, files[rel])
        stage.commit()
