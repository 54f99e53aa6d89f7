"""The inclusion policy: which claims the public markup and pages show, and in what words.

Two rules are not options, because no editor would sign otherwise: claims from reader comments
(`ck:AnecdotalClaim`) never appear, and a claim whose source is a copy (detected by triage, or
declared with `copyOf` / `kind: republished-copy`) appears only when an independent source makes
the same relation with the same stance, and then never counts as independent support. A
relation that any independent source disputes is never put in a structured property.

The policy is read from an optional TOML file (a `[markup]` table, or top-level keys) and from
`KEY=VALUE` overrides; docs/markup.md lists the fields.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORD, OMIT = "word", "omit"
AUDIENCES = {"patient": "Patients", "clinician": "Clinicians", "researcher": "Medical researchers"}
CODE_MATCHES = ("exact", "close", "broad", "narrow", "related")
REFERENCE_KINDS = ("journal-article", "review", "guideline", "web-page", "book")


class PolicyError(ValueError):
    """The policy file or an override is not valid; the message says which field and why."""


@dataclass(frozen=True)
class InclusionPolicy:
    """What a careful medical editor signs. The defaults are the policy of the published site."""

    hypotheses: str = WORD
    """`word`: relations that sources only propose appear on the pages marked "Hypothesis" and
    in markup only as worded text (`pathophysiology`: "Hypothesis (source): ..."); `omit`:
    left out of both."""

    disputes: str = WORD
    """`word`: relations an independent source disputes appear marked "Disputed" and only as
    worded text; `omit`: left out. Either way they never reach a structured property."""

    mentions: str = OMIT
    """`word` shows relations sources only name without taking a position, marked
    "Mentioned"; `omit` (default) leaves them out."""

    min_sources: int = 1
    """Independent sources that must state a relation as fact (and none dispute it) before it
    goes into a structured property; with fewer it is worded as "Reported (source): ..."."""

    population_specific: str = "qualify"
    """A relation supported only for a population ("athletes"): `qualify` puts it in the
    structured property with a `description` "Stated for: athletes"; `omit` keeps it out of
    structured properties (it stays on the page)."""

    show_corroborated_copies: bool = True
    """Show a copy's claim (marked as a copy, not independent) when an independent source
    makes the same relation with the same stance. Uncorroborated copy claims never appear."""

    code_matches: tuple[str, ...] = ("exact", "close", "broad")
    """Which mapped codes become `code` (`MedicalCode`): a narrower or merely related code does
    not classify the whole condition."""

    same_as_matches: tuple[str, ...] = ("exact",)
    """Which mapped codes become `sameAs` links: only identifiers of the very same thing."""

    citation_kinds: tuple[str, ...] = ("journal-article", "review", "guideline", "book")
    """Reference kinds listed as `citation` (scholarly references); named mentions that cannot
    be tied to one reference are never cited."""

    audience: str = "patient"
    """`medicalAudience` of the pages: patient, clinician or researcher."""

    last_reviewed: str | None = None
    """`lastReviewed`: the ISO date (YYYY-MM-DD) an editor last reviewed the pages. The pipeline
    never invents a review date; when unset the pages say they have not been reviewed."""

    reviewed_by: str | None = None
    """`reviewedBy`: the name of that editor."""

    site_url: str | None = None
    """The absolute URL dist/site/ is published at (ending in /). Gives each page its `url`
    and `@id`; unset, pages carry no URL of their own."""

    def __post_init__(self) -> None:
        for name in ("hypotheses", "disputes", "mentions"):
            _one_of(name, getattr(self, name), (WORD, OMIT))
        _one_of("population_specific", self.population_specific, ("qualify", OMIT))
        _one_of("audience", self.audience, tuple(AUDIENCES))
        if isinstance(self.min_sources, bool) or not isinstance(self.min_sources, int):
            raise PolicyError(f"min_sources must be a whole number, not {self.min_sources!r}")
        if self.min_sources < 1:
            raise PolicyError("min_sources must be at least 1")
        for name, allowed in (
            ("code_matches", CODE_MATCHES),
            ("same_as_matches", CODE_MATCHES),
            ("citation_kinds", REFERENCE_KINDS),
        ):
            for item in getattr(self, name):
                _one_of(name, item, allowed)
        if self.last_reviewed is not None:
            try:
                datetime.date.fromisoformat(self.last_reviewed)
            except (TypeError, ValueError):
                raise PolicyError(
                    f"last_reviewed must be a date YYYY-MM-DD, not {self.last_reviewed!r}"
                ) from None
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", self.last_reviewed):
                raise PolicyError("last_reviewed must be written YYYY-MM-DD")
        if self.site_url is not None and not re.fullmatch(
            r"https?://[^\s/]+(/\S*)?/", self.site_url
        ):
            raise PolicyError("site_url must be an absolute http(s) URL ending in /")


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise PolicyError(f"{name}: {value!r} is not one of {', '.join(allowed)}")


_FIELDS = {f.name: f for f in dataclasses.fields(InclusionPolicy)}


def policy_from_mapping(values: dict[str, Any]) -> InclusionPolicy:
    """Build a policy from plain values (TOML or overrides), naming any unknown field."""
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise PolicyError(
            f"unknown policy field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}"
        )
    converted: dict[str, Any] = {}
    for name, value in values.items():
        default = _FIELDS[name].default
        if isinstance(default, tuple):
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise PolicyError(f"{name} must be a list of strings")
            converted[name] = tuple(value)
            continue
        if isinstance(default, bool) and not isinstance(value, bool):
            raise PolicyError(f"{name} must be true or false")
        elif isinstance(default, str | None) and not isinstance(value, str):
            raise PolicyError(f"{name} must be a string")
        converted[name] = value
    return InclusionPolicy(**converted)


def load_policy(
    path: Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> InclusionPolicy:
    """The default policy, updated by a TOML file and then by `KEY=VALUE` overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"cannot read the markup policy {path}: {exc}") from exc
        table = data.get("markup", data)
        if not isinstance(table, dict):
            raise PolicyError(f"{path}: [markup] must be a table")
        values.update(table)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in _FIELDS:
            raise PolicyError(f"override {item!r}: expected FIELD=VALUE with a policy field")
        values[key] = _parse_override(key, raw.strip())
    return policy_from_mapping(values)


def _parse_override(key: str, raw: str) -> Any:
    default = _FIELDS[key].default
    if isinstance(default, bool):
        if raw not in ("true", "false"):
            raise PolicyError(f"{key} must be true or false")
        return raw == "true"
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise PolicyError(f"{key} must be a whole number") from None
    if isinstance(default, tuple):
        return tuple(v.strip() for v in raw.split(",") if v.strip())
    return raw or None


DEFAULT_POLICY = InclusionPolicy()
__all__ = ["DEFAULT_POLICY", "InclusionPolicy", "PolicyError", "load_policy"]
