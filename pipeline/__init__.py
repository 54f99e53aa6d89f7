"""crampkg: curated YAML about medical conditions to a validated RDF knowledge graph."""

# The one version string: pyproject.toml reads it from here (hatch's version source), and
# reading it needs no package metadata at start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
