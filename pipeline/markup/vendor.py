"""Refreshing the vendored schema.org release (`crampkg vocab update`); the build never does.

A release is downloaded whole into memory, checked (the Turtle parses and our tables load from
it, the context is JSON-LD, the examples are there), and only then written: the release folder
is replaced in one step and the VERSION pin after it, so an interrupted or failed update leaves
the previous release in place.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from pipeline.distdir import locked, write_atomically
from pipeline.markup.schemaorg_vocab import (
    RELEASE_FILES,
    clear_cache,
    load_vocabulary,
    pinned_version,
)
from pipeline.resources import schemaorg_root

RELEASE_URL = "https://schema.org/version/{version}/{name}"
REQUIRED_TYPES = ("MedicalCondition", "MedicalWebPage", "Text")
_VERSION = re.compile(r"[0-9]+\.[0-9]+")


class VendorError(Exception):
    """The release could not be fetched or is not usable; nothing was changed."""


@dataclass(frozen=True)
class Updated:
    version: str
    folder: Path
    sizes: dict[str, int]
    activated: bool


def release_readme(version: str, files: dict[str, bytes]) -> bytes:
    """The README kept beside a release: where it came from and its licence."""
    sums = "\n".join(
        f"    {hashlib.sha256(files[n]).hexdigest()}  {n}" for n in RELEASE_FILES if n in files
    )
    return f"""# schema.org {version}, vendored

The schema.org vocabulary, release {version}, as published at
https://schema.org/version/{version}/ : the release files

- `schemaorg-current-https.ttl`: the vocabulary (types, properties, `domainIncludes`,
  `rangeIncludes`, `supersededBy`), with `https://schema.org/` IRIs;
- `schemaorgcontext.jsonld`: the JSON-LD context `https://schema.org` resolves to (it maps terms
  to `http://schema.org/`);
- `schemaorg-all-examples.txt`: the official examples.

The build checks every markup file against these files and never fetches anything; refresh
them with `crampkg vocab update --version {version}` (see docs/markup.md).

SHA-256 of the files:

{sums}

## Licence

Schema.org content is published by the schema.org project under the
Creative Commons Attribution-ShareAlike License (version 3.0), CC BY-SA 3.0:
https://creativecommons.org/licenses/by-sa/3.0/
These files are copied unchanged; that licence applies to them, not the project's MIT licence.
""".encode()


def fetch_release(version: str, timeout: float = 60.0) -> dict[str, bytes]:
    files = {}
    for name in RELEASE_FILES:
        url = RELEASE_URL.format(version=version, name=name)
        try:
            response = requests.get(url, timeout=timeout)
        except requests.RequestException as exc:
            raise VendorError(f"cannot download {url}: {exc}") from exc
        if response.status_code != 200:
            raise VendorError(f"cannot download {url}: HTTP {response.status_code}")
        files[name] = response.content
    return files


def check_release(files: dict[str, bytes]) -> None:
    """Load the release the way the build will; raise VendorError if it cannot be used."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        try:
            vocab = load_vocabulary(Path(tmp))
        except (OSError, SyntaxError, ValueError, KeyError) as exc:
            raise VendorError(f"the downloaded release cannot be read: {exc}") from exc
    missing = [t for t in REQUIRED_TYPES if t not in vocab.classes]
    if missing:
        raise VendorError(f"the downloaded vocabulary lacks {', '.join(missing)}")
    if not vocab.terms:
        raise VendorError("the downloaded JSON-LD context defines no schema.org terms")
    if not files.get(RELEASE_FILES[2], b"").strip():
        raise VendorError("the downloaded examples file is empty")


def update_release(
    version: str | None = None, root: Path | None = None, activate: bool = True
) -> Updated:
    """Download, check and vendor a release (default: the pinned one, refreshed)."""
    root = root or schemaorg_root()
    version = version or pinned_version(root)
    if not _VERSION.fullmatch(version):
        raise VendorError(f"{version!r} is not a schema.org release number such as 30.0")
    files = fetch_release(version)
    check_release(files)
    files["README.md"] = release_readme(version, files)
    folder = root / version
    root.mkdir(parents=True, exist_ok=True)
    with locked(folder):
        write_atomically(folder, files)
        if activate:
            pin = root / "VERSION"
            fd, tmp = tempfile.mkstemp(prefix=".VERSION.", dir=root)
            with os.fdopen(fd, "w") as fh:
                fh.write(version + "\n")
            Path(tmp).chmod(0o644)
            Path(tmp).replace(pin)
    clear_cache()
    return Updated(version, folder, {n: len(d) for n, d in sorted(files.items())}, activate)
