"""Where the ontology and shapes live: in the wheel, or in the source tree when editable."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """`ontology` or `shapes`: packaged copy first (wheel), else the repository folder."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name}/ folder was not found next to the pipeline package")


def ontology_file() -> Path:
    return resource_dir("ontology") / "crampkg.ttl"


def shapes_files() -> list[Path]:
    return sorted(resource_dir("shapes").glob("*.ttl"))


def schemaorg_root() -> Path:
    """`vendor/schemaorg/`: one folder per vendored schema.org release, and the VERSION pin."""
    return resource_dir("vendor") / "schemaorg"
