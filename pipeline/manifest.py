"""`manifest.json`: what a build produced, from what, with a SHA-256 per file.

It records the generator and dataset versions, the schema.org release the graph's terms come
from, the IRI of the API's JSON-LD context, and the git commit of the data when the data folder
is in a git checkout (two builds of the same commit record the same one). No wall-clock time is
recorded unless SOURCE_DATE_EPOCH is set (reproducible builds).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pipeline.exporters.api_context import context_iri
from pipeline.model import Corpus
from pipeline.vocab import DEFAULT_BASE, SCHEMAORG_RELEASE

_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 object names


def data_commit(data_dir: Path) -> str | None:
    """`git rev-parse HEAD` of the repository holding `data_dir`; None when it is not a git
    checkout, git is missing or fails (the build never depends on git)."""
    if not data_dir.is_dir():
        return None
    try:
        run = subprocess.run(
            ["git", "-C", str(data_dir), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = run.stdout.strip()
    return commit if run.returncode == 0 and _COMMIT.fullmatch(commit) else None


def digest(data: bytes) -> tuple[int, str]:
    """A file's size and SHA-256, as the manifest lists them."""
    return len(data), hashlib.sha256(data).hexdigest()


def build_manifest(
    files: Mapping[str, tuple[int, str]],
    corpus: Corpus,
    version: str,
    triples: int,
    data_dir: Path | None = None,
) -> bytes:
    entries = [
        {"path": path, "bytes": size, "sha256": sha256}
        for path, (size, sha256) in sorted(files.items())
    ]
    base = corpus.dataset.base if corpus.dataset else None
    manifest: dict[str, object] = {
        "generator": {"name": "crampkg", "version": version},
        "dataset": {
            "title": corpus.dataset.title if corpus.dataset else None,
            "version": corpus.dataset.version if corpus.dataset else None,
            "base": base,
            "license": corpus.dataset.license if corpus.dataset else None,
            "gitCommit": data_commit(data_dir) if data_dir is not None else None,
        },
        "schemaOrgRelease": SCHEMAORG_RELEASE,
        "apiContext": context_iri(base or DEFAULT_BASE),
        "counts": {
            "triples": triples,
            "entities": len(corpus.entities),
            "claims": len(corpus.claims),
            "sources": len(corpus.sources),
            "references": len(corpus.references),
        },
        "files": entries,
    }
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        manifest["buildTime"] = datetime.fromtimestamp(int(epoch), UTC).isoformat()
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
