"""`crampkg fetch` and `crampkg refs resolve`: the only commands that use the network.

Registered by pipeline.cli (`register(sub)`); like the rest of the CLI, this module prints and
chooses the exit code: 0 success, 2 the command could not do its work (bad id or URL, network
or HTTP failure, wrong content type, too large, unwritable data folder). Nothing is written
unless the whole fetch succeeded.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cliargs import add_data_argument

if TYPE_CHECKING:
    from pipeline.fetch.http import Policy
    from pipeline.fetch.snapshot import Orphan

EXIT_OK, EXIT_USAGE = 0, 2


def _say(message: str) -> None:
    print(f"crampkg: {message}", file=sys.stderr)


def _now() -> datetime:
    return datetime.now(UTC)


def _policy(args: argparse.Namespace) -> Policy:
    from pipeline.fetch.http import Policy
    from pipeline.fetch.limits import DEFAULT_MAX_BYTES

    p = Policy(
        retries=args.retries,
        max_bytes=getattr(args, "max_bytes", DEFAULT_MAX_BYTES),
        allow_private_hosts=frozenset(args.allow_private_host or ()),
    )
    if args.timeout is not None:
        from dataclasses import replace

        p = replace(p, connect_timeout=args.timeout, read_timeout=args.timeout)
    return p


def cmd_fetch(args: argparse.Namespace) -> int:
    from pipeline.fetch import snapshot
    from pipeline.fetch.http import FetchError

    data = Path(args.data)
    if args.accept:
        if args.url or args.id:
            _say("--accept ID takes no URL and no --id")
            return EXIT_USAGE
        try:
            done = snapshot.accept(data, args.accept)
        except (snapshot.SnapshotError, OSError) as exc:
            _say(f"cannot accept {args.accept}: {exc}")
            return EXIT_USAGE
        _say(f"accepted the new text of {args.accept}: {done.snapshot} (sha256 {done.sha256})")
        for path in done.yaml_files:
            _say(f"updated sha256 in {path}")
        _print_orphans(done.orphans, "need attention now (run `crampkg validate`)")
        return EXIT_OK
    if not args.id:
        _say("give --id ID (the source's id) with the URL, or --accept ID")
        return EXIT_USAGE
    try:
        t = snapshot.target(data, args.id)
        url = args.url or t.url
        if not url:
            _say(f"give the URL to fetch: source {args.id!r} has no `url`")
            return EXIT_USAGE
        result = snapshot.fetch(t, url, _policy(args), _now)
    except (FetchError, snapshot.SnapshotError) as exc:
        _say(f"{exc}; nothing was written")
        return EXIT_USAGE
    except OSError as exc:
        _say(f"cannot write to {data}: {exc}; nothing was written")
        return EXIT_USAGE
    if isinstance(result, snapshot.Created):
        c = result.candidate
        _say(f"fetched {c.fetched.final_url} ({len(c.page.text)} characters of text)")
        for path in result.files:
            _say(f"wrote {path}")
        if c.page.comments:
            _say("the page has reader comments: they follow the line 'Reader comments'")
        _say(f"review {result.files[1]} (TODO notes), then add claims")
    elif isinstance(result, snapshot.Unchanged):
        _say(f"the text of {args.id} is unchanged ({result.snapshot}); nothing was written")
        for path in result.removed:
            _say(f"removed the stale candidate {path}")
    else:
        _say(
            f"the text of {args.id} has changed (sha256 {result.old_sha256[:12] or 'none'} -> "
            f"{result.candidate.sha256[:12]}); the snapshot is unchanged until you accept"
        )
        for path in result.files:
            _say(f"wrote the candidate {path}")
        _print_orphans(result.orphans, "would no longer match")
        _say(f"to use the new text: crampkg fetch --accept {args.id} --data {args.data}")
    return EXIT_OK


def _print_orphans(orphans: Sequence[Orphan], what: str) -> None:
    if not orphans:
        _say("every evidence quote still matches the new text")
        return
    _say(f"{len(orphans)} quote(s) or region(s) {what}:")
    for o in orphans:
        owner = f"claim {o.claim}" if o.claim else f"source {o.source}"
        before = "" if o.was_found else " (already not matching before)"
        print(f"{o.where}: {owner}: {o.status}{before}: {o.quote!r}", file=sys.stderr)


def cmd_refs_resolve(args: argparse.Namespace) -> int:
    from pipeline.refs import RefsError, doi_url, resolve

    data = Path(args.data)
    try:
        out = resolve(data, _policy(args), Path(args.cache) if args.cache else None, args.refresh)
    except RefsError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _say(f"cannot write the cache: {exc}; nothing was written")
        return EXIT_USAGE
    if out.load_problems:
        _say(f"{out.load_problems} problem(s) reading {data}; run `crampkg validate` for details")
    for ref, doi in out.fetched:
        _say(f"resolved {ref}: doi:{doi}")
    for ref, doi, reason in out.failed:
        _say(f"FAILED {ref}: cannot fetch {doi_url(doi)}: {reason}; nothing was cached for it")
    for ref, raw, where in out.invalid:
        _say(f"{where}: {ref}: {raw!r} is not a DOI")
    for ref, hint, where in out.no_doi:
        _say(f"{where}: {ref} has no DOI; search: {hint}")
    for ref, key, mine, theirs in out.differences:
        _say(f"check {ref}: {key} is {mine!r} in the YAML but {theirs!r} in the registry")
    if out.unused:
        _say(f"{len(out.unused)} cached DOI(s) no reference uses (kept): {', '.join(out.unused)}")
    _say(
        f"{len(out.fetched)} resolved, {len(out.cached)} from the cache, {len(out.failed)} "
        f"failed, {len(out.no_doi)} without DOI, {len(out.mentions)} named mention(s); "
        f"{out.cache_path} {'written' if out.written else 'unchanged'}"
    )
    return EXIT_USAGE if out.failed or out.invalid else EXIT_OK


def _positive_int(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return n


def _non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return n


def _positive_float(value: str) -> float:
    x = float(value)
    if not x > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of seconds")
    return x


def _network(p: argparse.ArgumentParser) -> None:
    add_data_argument(p)
    p.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="connect and read timeout (default: 10 s to connect, 30 s between reads)",
    )
    p.add_argument(
        "--retries",
        type=_non_negative_int,
        default=3,
        metavar="N",
        help="retries on 429, 5xx and failed connections, with backoff (default: 3)",
    )
    p.add_argument(
        "--allow-private-host",
        action="append",
        metavar="HOST",
        help="fetch from HOST (as written in the URL) even though it is, or resolves to, a "
        "loopback, private or link-local address; these are refused by default, on the URL "
        "and on every redirect (repeatable)",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from pipeline.fetch.limits import DEFAULT_MAX_BYTES

    f = sub.add_parser(
        "fetch",
        help="snapshot a web page as a source (text, source YAML, fetch details)",
        description="Download URL and write data/sources/ID.txt (the main text, reader "
        "comments after a line 'Reader comments'), ID.yaml (the source record, with TODO "
        "notes) and ID.fetch.json. For a known source, a changed text is staged as .new "
        "next to the snapshot and the quotes that would no longer match are listed; "
        "`--accept ID` then puts it in place. See docs/fetch.md.",
    )
    f.add_argument("url", nargs="?", metavar="URL", help="http(s) URL (default: the source's url)")
    f.add_argument("--id", metavar="ID", help="id of the new or existing source")
    f.add_argument(
        "--accept",
        metavar="ID",
        help="replace the snapshot of source ID with its fetched candidate and update sha256",
    )
    f.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help=f"largest body accepted, after decompression (default: {DEFAULT_MAX_BYTES})",
    )
    _network(f)
    f.set_defaults(func=cmd_fetch)

    r = sub.add_parser(
        "refs",
        help="bibliographic metadata of references (resolve DOIs into a cache)",
        description="Work on the references of the sources.",
    )
    rs = r.add_subparsers(dest="refs_command", metavar="COMMAND")
    rs.required = True
    res = rs.add_parser(
        "resolve",
        help="resolve DOIs to CSL-JSON into data/references/csl-cache.json",
        description="Resolve every reference with a DOI by content negotiation at doi.org "
        "and store the CSL-JSON in a committed cache; the build reads only the cache. "
        "References without a DOI are listed with a Crossref search link.",
    )
    _network(res)
    res.add_argument(
        "--cache",
        metavar="FILE",
        help="cache file (default: DIR/references/csl-cache.json)",
    )
    res.add_argument(
        "--refresh", action="store_true", help="resolve cached DOIs again, not only new ones"
    )
    res.set_defaults(func=cmd_refs_resolve)
