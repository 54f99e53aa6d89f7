"""All-or-nothing file writes for data/: every file goes to a temp file first, then into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_all(files: dict[Path, bytes], remove: Iterable[Path] = ()) -> None:
    """Write every file or none of them; then delete `remove`.

    All contents are written and synced to temp files beside their targets before the first
    target is touched; each target is then swapped in with os.replace (atomic per file). If a
    swap fails, the targets already swapped get their previous bytes back (or are removed).
    """
    temps: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            temps[path] = _temp(path, data)
        previous = {p: p.read_bytes() if p.exists() else None for p in files}
        done: list[Path] = []
        try:
            for path, tmp in temps.items():
                tmp.replace(path)
                done.append(path)
        except OSError:
            for path in done:
                old = previous[path]
                with contextlib.suppress(OSError):
                    if old is None:
                        path.unlink()
                    else:
                        _temp(path, old).replace(path)
            raise
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    for path in remove:
        path.unlink(missing_ok=True)


def _temp(path: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; data files are shared like any other file in the repository
        tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else 0o644)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
