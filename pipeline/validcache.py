"""Partition results kept between builds: after an edit, only the changed partitions validate.

A partition's results (pipeline.partition) are a function of the triples loaded into its store,
in order, of its key range (which focus nodes it reports on), of the shapes and of the code
and libraries that run them. The cache keeps them under a hash of exactly those: the store's
triples as N-Triples (one text per term, so equal texts mean equal stores), the range's two
keys, the shapes files, the validation modules' source and the pyoxigraph and rdflib versions.
An entry can only be reused for the same input, so results stay exact; tests/test_validcache.py
compares them with a fresh validation after edits. The content-defined cuts
(pipeline.slices) keep the other partitions' stores unchanged by an edit, so their results
are found here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import pyoxigraph
import rdflib
from pyoxigraph import RdfFormat

from pipeline import __version__
from pipeline.cache import LoadCache
from pipeline.rdfio import AnyTriple, to_bytes
from pipeline.resources import shapes_files
from pipeline.slices import Bounds
from pipeline.sparqlshapes import RawResult

_FORMAT = b"crampkg-partition-results-1"
# The modules whose code decides a partition's results, beside this package's version.
_CODE = (
    "validate.py",
    "validcache.py",
    "partition.py",
    "slices.py",
    "reads.py",
    "rdfio.py",
    "report.py",  # the results' severities
    "shaclcore.py",
    "shaclexec.py",
    "sparqlbulk.py",
    "sparqlshapes.py",
)


@cache
def fingerprint() -> bytes:
    """Hash of the shapes, the validation code and the libraries' versions."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(_FORMAT + b"\0" + __version__.encode())
    h.update(f"\0pyoxigraph {pyoxigraph.__version__}\0rdflib {rdflib.__version__}".encode())
    for path in [*(here / m for m in _CODE), *shapes_files()]:
        h.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return h.digest()


def partition_key(part: Sequence[AnyTriple] | bytes, bounds: Bounds) -> bytes:
    """What a partition's results depend on, hashed (see the module's docstring); `part` is
    the store's triples, or those triples as N-Triples."""
    ntriples = part if isinstance(part, bytes) else to_bytes(part, RdfFormat.N_TRIPLES)
    h = hashlib.blake2b(fingerprint(), digest_size=32)
    h.update(repr(bounds).encode() + b"\0")
    h.update(ntriples)
    return h.digest()


class PartitionMemo:
    """A `pipeline.partition.Memo` over the load cache; counts what it found and computed."""

    def __init__(self, store: LoadCache) -> None:
        self.store = store
        self.found = self.computed = 0

    def __call__(
        self,
        part: Sequence[AnyTriple],
        bounds: Bounds,
        compute: Callable[[bytes | None], list[RawResult]],
    ) -> list[RawResult]:
        ntriples = to_bytes(part, RdfFormat.N_TRIPLES)
        key = self.store.key("partition-results", partition_key(ntriples, bounds))
        kept = self.store.get(key)
        if isinstance(kept, list):
            self.found += 1
            return kept
        self.computed += 1
        results = compute(ntriples)  # the store is loaded from these: serialised once
        self.store.put(key, results)
        return results


__all__ = ["PartitionMemo", "fingerprint", "partition_key"]
