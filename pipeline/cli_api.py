"""`crampkg diff OLD_DIST NEW_DIST`: release notes between two builds.

Registered by pipeline.cli (`register(sub)`); like the rest of the CLI, this module prints and
chooses the exit code: 0 notes written (whatever changed), 2 a folder is not a build.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def cmd_diff(args: argparse.Namespace) -> int:
    from pipeline.diff import DiffInputError, load_build, release_notes, to_json, to_markdown

    try:
        notes = release_notes(load_build(Path(args.old)), load_build(Path(args.new)))
    except DiffInputError as exc:
        print(f"crampkg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = to_json(notes) if args.format == "json" else to_markdown(notes)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"crampkg: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the `diff` subcommand to the CLI's subparsers."""
    d: argparse.ArgumentParser = sub.add_parser(
        "diff",
        help="release notes: what changed between two builds",
        description="Compare two build folders (their graph.nt) and write release notes: "
        "entities, claims and evidence added, removed and changed, stance changes called out, "
        "per condition, with counts.",
    )
    d.add_argument("old", metavar="OLD_DIST", help="the previous build folder")
    d.add_argument("new", metavar="NEW_DIST", help="the new build folder")
    d.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="Markdown for people (default) or JSON for machines",
    )
    d.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    d.set_defaults(func=cmd_diff)
