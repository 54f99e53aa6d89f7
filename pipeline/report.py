"""Problems as data: every stage reports into a `Report` instead of raising or printing.

Modelled on Frictionless' errors-as-reports: a problem carries a severity, a stable rule name,
a message a curator understands and the place in the YAML that caused it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    """SHACL's three severities; the loader uses them too."""

    VIOLATION = "violation"
    WARNING = "warning"
    INFO = "info"


class Stage(StrEnum):
    """Where a problem was found. `read` problems mean the input could not be read at all."""

    READ = "read"
    SCHEMA = "schema"
    REFERENCE = "reference"
    EVIDENCE = "evidence"
    SHACL = "shacl"
    TRIAGE = "triage"
    MARKUP = "markup"


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A place in a data file; line and column are 1-based, 0 when unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `rule` is a stable kebab-case name tests and tools can rely on."""

    severity: Severity
    stage: Stage
    rule: str
    message: str
    location: Location | None = None
    node: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.column, self.rule, self.message, self.node or "")

    def format(self, base: str = "") -> str:
        where = f"{self.location}: " if self.location else ""
        node = f" [{self.node.removeprefix(base) if base else self.node}]" if self.node else ""
        return f"{where}{self.severity.value}: {self.message} ({self.rule}){node}"


@dataclass
class Report:
    """An ordered, de-duplicated collection of problems."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def sorted(self) -> list[Problem]:
        unique = {(p.sort_key(), p.severity, p.stage): p for p in self.problems}
        return [unique[k] for k in sorted(unique)]

    def count(self, severity: Severity) -> int:
        return sum(1 for p in self.problems if p.severity is severity)

    @property
    def unreadable(self) -> bool:
        """True when some input could not be read at all (exit code 2)."""
        return any(
            p.stage is Stage.READ and p.severity is Severity.VIOLATION for p in self.problems
        )

    @property
    def conforms(self) -> bool:
        return self.count(Severity.VIOLATION) == 0

    def exit_code(self) -> int:
        """0 conforms, 1 the data does not conform, 2 the input could not be read."""
        if self.unreadable:
            return 2
        return 0 if self.conforms else 1

    def summary(self) -> str:
        v, w, i = (self.count(s) for s in Severity)
        return f"{v} violation(s), {w} warning(s), {i} info"

    def to_text(self, base: str = "") -> str:
        lines = [p.format(base) for p in self.sorted()]
        lines.append(("conforms: " if self.conforms else "does not conform: ") + self.summary())
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        rows = []
        for p in self.sorted():
            row = asdict(p)
            row["severity"] = p.severity.value
            row["stage"] = p.stage.value
            rows.append(row)
        return json.dumps({"conforms": self.conforms, "problems": rows}, indent=2) + "\n"


def relpath(path: Path, root: Path) -> str:
    """A stable, slash-separated path for messages: relative to the data root's parent."""
    try:
        return path.resolve().relative_to(root.resolve().parent).as_posix()
    except ValueError:
        return path.as_posix()
