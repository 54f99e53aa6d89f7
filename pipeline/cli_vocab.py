"""`crampkg vocab update [--version X]`: refresh the vendored schema.org release.

Registered by pipeline.cli (`register(sub)`); like the rest of the CLI, this module prints and
chooses the exit code: 0 the release was vendored, 2 it could not be fetched or used (nothing
changed). The build itself never goes online: it checks markup against vendor/schemaorg/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def cmd_vocab_update(args: argparse.Namespace) -> int:
    from pipeline.markup.vendor import VendorError, update_release

    root = Path(args.vendor_dir) if args.vendor_dir else None
    try:
        done = update_release(args.version, root, activate=not args.no_activate)
    except (VendorError, OSError) as exc:
        print(f"crampkg: {exc}; the vendored vocabulary is unchanged", file=sys.stderr)
        return EXIT_USAGE
    sizes = ", ".join(f"{name} {size:,} bytes" for name, size in done.sizes.items())
    print(
        f"crampkg: schema.org {done.version} vendored in {done.folder} ({sizes})", file=sys.stderr
    )
    if done.activated:
        print(
            f"crampkg: builds now check markup against schema.org {done.version}", file=sys.stderr
        )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the `vocab` command (with `vocab update`) to the CLI's subparsers."""
    v: argparse.ArgumentParser = sub.add_parser(
        "vocab",
        help="manage the vendored schema.org vocabulary",
        description="The schema.org release the build checks markup against is vendored in "
        "vendor/schemaorg/<version>/; these commands refresh it (the build never goes online).",
    )
    actions = v.add_subparsers(dest="vocab_command", metavar="ACTION", parser_class=type(v))
    actions.required = True
    u = actions.add_parser(
        "update",
        help="download a schema.org release into vendor/schemaorg/ and pin it",
        description="Download the release files (vocabulary Turtle, JSON-LD context, examples) "
        "from https://schema.org/version/<version>/, check that they load, then replace "
        "vendor/schemaorg/<version>/ in one step and pin that version in "
        "vendor/schemaorg/VERSION. On any failure nothing is changed.",
    )
    u.add_argument(
        "--version",
        metavar="X",
        help="release number such as 30.0 (default: the pinned release, downloaded again)",
    )
    u.add_argument(
        "--vendor-dir",
        metavar="DIR",
        help="folder of vendored releases (default: the project's vendor/schemaorg)",
    )
    u.add_argument(
        "--no-activate",
        action="store_true",
        help="download the release without pinning it for the build",
    )
    u.set_defaults(func=cmd_vocab_update)
