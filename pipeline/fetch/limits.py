"""Limits shared by the fetch commands and their command-line defaults (imported without
loading the HTTP stack, so `crampkg build` does not pay for it)."""

DEFAULT_MAX_BYTES = 10_000_000  # decompressed bytes of one answer
