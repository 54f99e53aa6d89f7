"""crampkg: curated YAML about medical conditions to a validated RDF knowledge graph."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crampkg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
