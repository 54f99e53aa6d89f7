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
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class DistLocked(Exception):
    """Another build holds the lock on this output folder."""


@contextmanager
def locked(out: Path, timeout: float = 300.0) -> Iterator[None]:
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


def clean_stale(out: Path) -> None:
    """Remove staging and old folders left by builds that were killed."""
    for pattern in (f".{out.name}.staging-*", f".{out.name}.old-*"):
        for stale in out.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Replace the folder `out` by exactly `files` (relative path -> content)."""
    out = out.absolute()
    clean_stale(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        for rel in sorted(files):
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                fh.write(files[rel])
                fh.flush()
                os.fsync(fh.fileno())
        staging.chmod(0o755)
        _fsync_dir(staging)
        if out.exists() and _exchange(staging, out):
            shutil.rmtree(staging)  # it now holds the previous build
        elif out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
        else:
            staging.rename(out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
