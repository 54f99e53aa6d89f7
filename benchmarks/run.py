"""Time the pipeline at catalog scale against a naive rdflib + pySHACL baseline, in one run.

For each N: generate the data (not timed), then in a fresh child process `build` it, timing
every stage and the peak memory (ru_maxrss); then, on the same data, the naive baseline: rdflib
parses the produced graph.ttl, pySHACL validates it against shapes/, rdflib serialises Turtle
and JSON-LD. Above --baseline-max the baseline is extrapolated linearly from the largest
measured N and labelled so. At the largest N the incremental rebuild is timed after a change to
one condition file, and its dist/ is compared byte for byte with a full build of the same data.
Also times `crampkg build` of the real corpus against starting Python and importing the
dependencies. Prints a table and writes JSON.

    python benchmarks/run.py --sizes 100 1000 10000 --baseline-max 1000 --json perf.json
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IMPORTS = "import pyoxigraph, rdflib, yaml, jsonschema, py3langid, pyshacl, requests"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _steal() -> tuple[int, int] | None:
    """(steal, total) jiffies of the whole machine so far, from /proc/stat (Linux only).

    On a virtual machine the host can take the CPU away ("steal"): wall time then grows
    while the process's CPU time does not, which is why builds also report CPU seconds."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    jiffies = [int(f) for f in fields]
    return (jiffies[7] if len(jiffies) > 7 else 0), sum(jiffies)


def child_build(data: Path, out: Path, cache: bool) -> dict[str, object]:
    from pipeline.build import build

    if not cache:
        os.environ["CRAMPKG_NO_CACHE"] = "1"
    steal, cpu, start = _steal(), _cpu_s(), time.perf_counter()
    result = build(data, out)
    total, cpu, after = time.perf_counter() - start, _cpu_s() - cpu, _steal()
    assert result.report.conforms, result.report.summary()
    stolen = None
    if steal is not None and after is not None and after[1] > steal[1]:
        stolen = (after[0] - steal[0]) / (after[1] - steal[1])
    return {
        "total": total,
        "cpu": cpu,
        "steal_share": stolen,
        "stages": result.timings,
        "peak_mb": _peak_mb(),
        "triples": len(result.graph or []),
    }


def child_baseline(ttl: Path) -> dict[str, object]:
    from pyshacl import validate
    from rdflib import Graph

    times: dict[str, float] = {}
    t = time.perf_counter()
    g = Graph().parse(ttl, format="turtle")
    times["parse"] = time.perf_counter() - t
    shapes = Graph()
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        shapes.parse(path, format="turtle")
    t = time.perf_counter()
    validate(g, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True)
    times["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    g.serialize(format="turtle")
    times["turtle"] = time.perf_counter() - t
    t = time.perf_counter()
    g.serialize(format="json-ld")
    times["jsonld"] = time.perf_counter() - t
    return {"total": sum(times.values()), "stages": times, "peak_mb": _peak_mb()}


def _child(*args: str) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return False
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def _edit_one_condition(data: Path) -> None:
    first = sorted((data / "conditions").glob("*.yaml"))[0]
    text = first.read_text()
    first.write_text(text.replace("stance: supports", "stance: hypothesis", 1))


def real_corpus(rounds: int = 5) -> dict[str, float]:
    """Best of `rounds` for each command, the two taken in turn so that a slow spell of the
    machine falls on both alike rather than on all the runs of one."""

    def wall(cmd: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - t

    crampkg = str(Path(sys.executable).parent / "crampkg")
    out = "/tmp/crampkg-bench-real-dist"
    build_cmd = [crampkg, "build", "--data", "data", "--out", out, "-q"]
    imports_cmd = [sys.executable, "-c", IMPORTS]
    build, imports = float("inf"), float("inf")
    for _ in range(rounds):
        build = min(build, wall(build_cmd))
        imports = min(imports, wall(imports_cmd))
    return {"build": build, "imports": imports, "ratio": build / imports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--baseline-max", type=int, default=1000)
    parser.add_argument("--incremental-n", type=int, default=None, help="default: largest size")
    parser.add_argument("--work", type=Path, default=Path("/tmp/crampkg-bench"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "build":
            out = child_build(Path(rest[0]), Path(rest[1]), rest[2] == "cache")
        else:
            out = child_baseline(Path(rest[0]))
        print(json.dumps(out))
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    rows: list[dict[str, object]] = []
    measured: dict[int, float] = {}
    if all(n > args.baseline_max for n in args.sizes):  # measure the baseline at the cap itself
        data, dist = (
            args.work / f"data-{args.baseline_max}",
            args.work / f"dist-{args.baseline_max}",
        )
        generate(args.baseline_max, data)
        _child("build", str(data), str(dist), "nocache")
        base = _child("baseline", str(dist / "graph.ttl"))
        measured[args.baseline_max] = float(base["total"])  # type: ignore[arg-type]
        print(json.dumps({"baseline_n": args.baseline_max, "baseline": base}), flush=True)
    for n in sorted(args.sizes):
        data, dist = args.work / f"data-{n}", args.work / f"dist-{n}"
        generate(n, data)
        shutil.rmtree(data.parent / ".crampkg-cache", ignore_errors=True)
        full = _child("build", str(data), str(dist), "nocache")
        row: dict[str, object] = {"n": n, "full": full}
        if n <= args.baseline_max:
            base = _child("baseline", str(dist / "graph.ttl"))
            measured[n] = float(base["total"])  # type: ignore[arg-type]
            row["baseline"] = {**base, "extrapolated": False}
        elif measured:
            m = max(measured)
            row["baseline"] = {"total": measured[m] * n / m, "extrapolated": True, "from_n": m}
        if "baseline" in row:
            row["ratio"] = float(row["baseline"]["total"]) / float(full["total"])  # type: ignore[index]
        rows.append(row)
        print(json.dumps(row), flush=True)
    n = args.incremental_n or max(args.sizes)
    data, dist = args.work / f"data-{n}", args.work / f"dist-{n}"
    warm = _child("build", str(data), str(dist), "cache")  # fills the cache
    _edit_one_condition(data)
    inc = _child("build", str(data), str(dist), "cache")
    ref = _child("build", str(data), str(args.work / "dist-ref"), "nocache")
    identical = _same_tree(dist, args.work / "dist-ref")
    incremental = {
        "n": n,
        "warm": warm["total"],
        "incremental": inc,
        "full": ref["total"],
        "share": float(inc["total"]) / float(ref["total"]),
        "identical": identical,
    }  # type: ignore[arg-type]
    real = real_corpus()
    result = {
        "cores": os.cpu_count(),
        "baseline_measured": measured,
        "sizes": rows,
        "incremental": incremental,
        "real": real,
    }
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def table(result: dict[str, object]) -> str:
    stages = [
        "load",
        "triage",
        "graph",
        "validate",
        "export:turtle",
        "export:ntriples",
        "export:jsonld",
        "export:api",
        "export:schemaorg",
        "export:site",
        "export:void",
        "export:ontology-doc",
        "write",
    ]
    lines = [
        "| N | triples | " + " | ".join(stages) + " | total s | peak MB | baseline s | ratio |",
        "|---" * (len(stages) + 7) + "|",
    ]
    for row in result["sizes"]:  # type: ignore[attr-defined]
        full, base = row["full"], row.get("baseline", {})
        cells = [f"{full['stages'].get(s, 0):.2f}" for s in stages]
        b = (
            f"{base['total']:.1f}{' (extrapolated)' if base.get('extrapolated') else ''}"
            if base
            else "-"
        )
        ratio = f"{row['ratio']:.1f}x" if "ratio" in row else "-"
        lines.append(
            f"| {row['n']} | {full['triples']} | "
            + " | ".join(cells)
            + f" | {full['total']:.1f} | {full['peak_mb']:.0f} | {b} | {ratio} |"
        )
    sizes = result["sizes"]  # type: ignore[index]
    for small, large in pairwise(sizes):
        a, b = small["full"], large["full"]
        lines.append(
            f"\ngrowth N={small['n']} -> {large['n']}: wall {b['total'] / a['total']:.1f}, "
            f"CPU {b['cpu'] / a['cpu']:.1f} (CPU s {a['cpu']:.1f} -> {b['cpu']:.1f}; "
            f"machine's steal {_share(a)} and {_share(b)})"
        )
    inc, real = result["incremental"], result["real"]  # type: ignore[index]
    lines.append(
        f"\nincremental at N={inc['n']}: {inc['incremental']['total']:.1f} s vs full "
        f"{inc['full']:.1f} s ({100 * inc['share']:.0f}%), byte-identical: {inc['identical']}"
    )
    lines.append(
        f"real corpus: build {real['build']:.2f} s, python + imports {real['imports']:.2f} s "
        f"(ratio {real['ratio']:.2f})"
    )
    return "\n".join(lines)


def _share(build: dict[str, object]) -> str:
    stolen = build.get("steal_share")
    return "unknown" if stolen is None else f"{100 * float(stolen):.0f}%"  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
