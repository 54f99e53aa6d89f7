"""The `crampkg` command. The only module that prints or chooses an exit code.

Exit codes: 0 success, 1 the data does not conform (schema, references, quotes, SHACL),
2 bad input or usage (unreadable YAML, missing folder, wrong arguments, another build running).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import __version__
from pipeline.cli_api import register as register_api
from pipeline.cli_fetch import register as register_fetch
from pipeline.cli_sparql import register as register_sparql
from pipeline.cli_vocab import register as register_vocab
from pipeline.cliargs import add_data_argument

EXIT_OK, EXIT_NONCONFORMING, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is our code for usage errors too."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"crampkg: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _progress(quiet: bool):  # type: ignore[no-untyped-def]
    def show(stage: str, summary: str, seconds: float) -> None:
        if not quiet:
            print(f"crampkg: {stage:<18} {seconds:7.2f} s  {summary}", file=sys.stderr)

    return show


def _print_report(report, base: str, fmt: str, quiet_info: bool = False) -> None:  # type: ignore[no-untyped-def]
    if fmt == "json":
        sys.stdout.write(report.to_json())
    elif quiet_info:  # a successful build: info findings are in dist/validation/report.txt
        for problem in report.sorted():
            if problem.severity.value != "info":
                print(problem.format(base), file=sys.stderr)
    else:
        sys.stderr.write(report.to_text(base))


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import build
    from pipeline.distdir import DistError
    from pipeline.markup.policy import PolicyError, load_policy

    try:
        policy = load_policy(
            Path(args.markup_policy) if args.markup_policy else None, args.markup_set
        )
    except PolicyError as exc:
        print(f"crampkg: markup policy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = build(
            Path(args.data), Path(args.out), progress=_progress(args.quiet), markup_policy=policy
        )
    except DistError as exc:
        print(f"crampkg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(
            f"crampkg: cannot write {args.out}: {exc.strerror or exc}; "
            "the previous output is unchanged",
            file=sys.stderr,
        )
        return EXIT_USAGE
    base = result.graph.base if result.graph else ""
    report = result.report
    if report.problems or not report.conforms:
        _print_report(report, base, args.format, quiet_info=report.exit_code() == EXIT_OK)
    code = report.exit_code()
    if code == EXIT_OK:
        print(
            f"crampkg: built {args.out}/ ({len(result.digests)} files, "
            f"{len(result.graph or [])} triples; {report.summary()}; "
            f"all findings in {args.out}/validation/report.txt)",
            file=sys.stderr,
        )
    else:
        print(f"crampkg: nothing was written; {args.out}/ is unchanged", file=sys.stderr)
    return code


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.build import run_pipeline

    result = run_pipeline(Path(args.data), export=False, progress=_progress(args.quiet))
    _print_report(result.report, result.graph.base if result.graph else "", args.format)
    return result.report.exit_code()


def cmd_sources(args: argparse.Namespace) -> int:
    import json

    from pipeline.build import run_pipeline
    from pipeline.sources_report import as_json, as_table, source_rows

    result = run_pipeline(Path(args.data), validate=False, export=False, progress=_progress(True))
    if result.corpus is None or result.triage is None:
        _print_report(result.report, "", "text")
        return result.report.exit_code() or EXIT_USAGE
    rows = source_rows(result.corpus, result.triage)
    if args.format == "json":
        print(json.dumps(as_json(rows), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(as_table(rows, args.uncovered))
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="crampkg",
        description="Curated YAML about medical conditions to a validated RDF knowledge graph "
        "(Turtle, N-Triples, JSON-LD) with every claim tied to its verbatim evidence.",
        epilog="Exit codes: 0 ok, 1 the data does not conform, 2 bad input or usage. "
        "See README.md and docs/authoring.md.",
    )
    parser.add_argument("--version", action="version", version=f"crampkg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        add_data_argument(p)
        p.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="how to print problems: text on stderr, or JSON on stdout",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="do not show stage progress")

    b = sub.add_parser(
        "build",
        help="validate the data and write the exports to --out",
        description="Load, check, build the graph, validate it with SHACL and "
        "write all exports. Nothing is written unless the data conforms; the "
        "output folder is replaced in one step.",
    )
    common(b)
    b.add_argument(
        "--out",
        default="dist",
        metavar="DIR",
        help="output folder, replaced as a whole (default: dist)",
    )
    b.add_argument(
        "--markup-policy",
        metavar="FILE",
        help="TOML file of the schema.org inclusion policy (docs/markup.md)",
    )
    b.add_argument(
        "--markup-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one policy field, e.g. hypotheses=omit (repeatable)",
    )
    b.set_defaults(func=cmd_build)

    v = sub.add_parser(
        "validate",
        help="check the data and report problems; writes nothing",
        description="Run every check of `build` (YAML, schema, references, "
        "quotes, SHACL) and print the problems with file and line.",
    )
    common(v)
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser(
        "sources",
        help="per-document triage: claims, stances, coverage, copies",
        description="For every source document: claims and their stances, the "
        "share of its content sentences covered by evidence (boilerplate "
        "excluded), detected near-duplicates and passages in other languages.",
    )
    add_data_argument(s)
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.add_argument(
        "--uncovered",
        action="store_true",
        help="list the content sentences no claim's evidence covers",
    )
    s.set_defaults(func=cmd_sources)
    register_api(sub)
    register_sparql(sub)
    register_fetch(sub)
    register_vocab(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("crampkg: interrupted; the previous output is unchanged", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
