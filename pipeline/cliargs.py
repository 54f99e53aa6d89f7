"""Command-line options shared by several subcommands (kept apart to avoid import cycles)."""

from __future__ import annotations

import argparse


def add_data_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default="data",
        metavar="DIR",
        help="folder of YAML data and source snapshots (default: data)",
    )
