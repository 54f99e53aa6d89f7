"""A cache of per-file load results, so a rebuild after editing one file parses one file.

Reading a YAML file (libyaml's events turned into values with their positions) and checking
it against the JSON Schema are most of the load stage, and depend only on the file's bytes, its
relative name, the schema and the pipeline's code. The cache keeps their result - the parsed
document with its positions, the items to skip and the schema problems - under a hash of
exactly those inputs, so an entry can only be reused for identical input and the build's
output cannot change. The cross-file steps (unique ids, records, corpus checks) always run on
every file, in order.
Two more entries spare a small corpus most of its fixed cost: the schema.org vocabulary tables
(pipeline.markup.schemaorg_vocab.cached_vocabulary) and the compiled shapes
(pipeline.validate.cached_compiled), each keyed by its input files and the code that makes it.
Entries not used by a build are removed at its end. Delete the folder to start afresh.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipeline import __version__

FOLDER = ".crampkg-cache"
_FORMAT = b"crampkg-load-cache-1"
LANGUAGE_MEMO = "language-memo"  # py3langid verdicts by paragraph (pipeline.triage)


@cache
def _code_hash() -> bytes:
    """Hash of the modules and schema the cached work depends on (a code edit invalidates)."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(_FORMAT + __version__.encode())
    for rel in (
        "load.py",
        "schemacheck.py",
        "values.py",
        "yamlsafe.py",
        "model.py",
        "report.py",
        "schemas/authoring.schema.json",
    ):
        path = here / rel
        h.update(rel.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return h.digest()


@dataclass
class LoadCache:
    """Pickled per-file results under `folder`, keyed by content, name and code hash."""

    folder: Path
    hits: int = 0
    misses: int = 0
    used: set[str] = field(default_factory=set)

    def key(self, name: str, content: bytes) -> str:
        h = hashlib.sha256(_code_hash())
        h.update(name.encode() + b"\0" + content)
        return h.hexdigest()

    def get(self, key: str) -> Any | None:
        self.used.add(key)
        try:
            value = pickle.loads((self.folder / key).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        self.used.add(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(self.folder / key)
        except OSError:
            pass  # a cache that cannot be written only costs time

    def remember(self, name: str, content: bytes, make: Callable[[], Any]) -> Any:
        """The value `make()` gives for `content`, from an earlier build when one stored it."""
        key = self.key(name, content)
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def keep(self, key: str) -> bool:
        """Mark an entry as used by this build without reading it; whether it exists."""
        self.used.add(key)
        return (self.folder / key).is_file()

    def memo(self, name: str) -> dict[Any, Any]:
        """A dictionary kept between builds under `name` (empty if absent or unreadable)."""
        self.used.add(name)
        try:
            value = pickle.loads((self.folder / name).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return {}
        return value if isinstance(value, dict) else {}

    def save_memo(self, name: str, value: dict[Any, Any]) -> None:
        """Store `value` under `name` (callers keep only entries this build used)."""
        self.put(name, value)

    def prune(self) -> None:
        """Remove entries this build did not use (older versions of edited files)."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name not in self.used and len(path.name) == 64:
                path.unlink(missing_ok=True)


class Recorder(dict[Any, Any]):
    """A memo answering from an earlier build's, keeping only the entries this build asks for."""

    def __init__(self, earlier: dict[Any, Any]):
        super().__init__()
        self.earlier = earlier

    def __contains__(self, key: object) -> bool:
        if not dict.__contains__(self, key) and key in self.earlier:
            self[key] = self.earlier[key]
        return dict.__contains__(self, key)

    def changed(self) -> bool:
        return dict(self) != self.earlier


def for_output(out: Path) -> LoadCache | None:
    """The cache beside an output folder, unless CRAMPKG_NO_CACHE is set."""
    if os.environ.get("CRAMPKG_NO_CACHE"):
        return None
    return LoadCache(out.resolve().parent / FOLDER)
