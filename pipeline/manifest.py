"""`manifest.json`: what a build produced, with a SHA-256 per file.

No wall-clock time is recorded unless SOURCE_DATE_EPOCH is set (reproducible builds).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime

from pipeline.model import Corpus


def build_manifest(files: dict[str, bytes], corpus: Corpus, version: str, triples: int) -> bytes:
    entries = [
        {"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in sorted(files.items())
    ]
    manifest: dict[str, object] = {
        "generator": {"name": "crampkg", "version": version},
        "dataset": {
            "title": corpus.dataset.title if corpus.dataset else None,
            "version": corpus.dataset.version if corpus.dataset else None,
            "base": corpus.dataset.base if corpus.dataset else None,
            "license": corpus.dataset.license if corpus.dataset else None,
        },
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
