"""`ac-core bench`: run the latency suite (benchmarks/) and print figures beside their baselines.

Runs pytest-benchmark on every file in the benchmarks folder (the full suite by default; `--quick`
for CI-sized loops; `--file NAME` and `-k EXPR` to run part of it), optionally writes
pytest-benchmark's JSON (`--json FILE`), then prints one row per figure: what it measured, the value
(p50 for latency distributions, with p99), the baseline measured in the same run, the ratio baseline /
ac_core (of the p99 where the target is judged on the p99), and the DESIGN.md §8 target.

The benchmarks ship with the source tree, not with the wheel, so the folder is looked for in order:
``--dir``, the source checkout this package was imported from, then ``./benchmarks``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import ac_core


def checkout_benchmark_dir() -> Path:
    # Source checkout layout: <repo>/python/ac_core/__init__.py and <repo>/benchmarks/. For an
    # installed package this points into site-packages' parent, where no benchmarks exist.
    return Path(ac_core.__file__).resolve().parents[2] / "benchmarks"


def is_benchmark_dir(path: Path) -> bool:
    # A folder merely named "benchmarks" in the working directory may belong to another project;
    # only one holding bench_*.py files is taken for the suite.
    return path.is_dir() and any(path.glob("bench_*.py"))


def benchmark_dir_candidates(explicit: Path | None = None) -> list[Path]:
    """Where the suite is looked for, in order. An explicit --dir is the only candidate: silently
    running some other folder's benchmarks when the one asked for is missing would mislead."""
    if explicit is not None:
        return [explicit]
    return [checkout_benchmark_dir(), Path.cwd() / "benchmarks"]


def find_benchmark_dir(explicit: Path | None = None) -> tuple[Path | None, list[Path]]:
    """(the first candidate that holds bench_*.py files or None, every candidate tried)."""
    tried = benchmark_dir_candidates(explicit)
    return next((d for d in tried if is_benchmark_dir(d)), None), tried


def benchmark_files(bench_dir: Path, names: list[str]) -> list[Path]:
    """Resolve --file names (``ring``, ``bench_ring`` or ``bench_ring.py``) to files in bench_dir."""
    files = []
    for name in names:
        stem = name.removesuffix(".py")
        stem = stem if stem.startswith("bench_") else f"bench_{stem}"
        path = bench_dir / f"{stem}.py"
        if not path.is_file():
            valid = ", ".join(sorted(p.stem.removeprefix("bench_") for p in bench_dir.glob("bench_*.py")))
            raise SystemExit(
                f"ac-core bench: no benchmark file {path.name} in {bench_dir}; valid --file names: {valid}"
            )
        files.append(path)
    return files


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the latency/throughput benchmarks and print a table")
    p.add_argument("--json", metavar="FILE", help="write the results in pytest-benchmark's JSON format")
    p.add_argument("--quick", action="store_true", help="CI-sized loops (few rounds, 100-300 samples)")
    p.add_argument("-k", metavar="EXPR", help="only benchmarks matching this pytest -k expression")
    p.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="NAME",
        help="only this benchmark file (e.g. ring for bench_ring.py); repeatable",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="benchmark folder (default: the source checkout's benchmarks/, else ./benchmarks)",
    )
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")
    p.set_defaults(func=run)


def format_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def ratio_ns(bench: dict[str, Any]) -> float:
    """The value ratios compare: the p99 where the target is judged on it (latency tails), else the headline."""
    info = bench.get("extra_info", {})
    if info.get("check_ns") == "p99" and info.get("p99_ns") is not None:
        return float(info["p99_ns"])
    return headline_ns(bench)


def headline_ns(bench: dict[str, Any]) -> float:
    info = bench.get("extra_info", {})
    if "value_ns" in info:
        return float(info["value_ns"])
    return float(bench["stats"]["median"]) * 1e9  # per call


def summary_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per benchmark, with the baseline of its group (if any) and the ratio to it.

    A baseline pairs with the ac_core figures of the same benchmark group, or, for ungrouped
    benchmarks, of the same ``figure`` label. A group may hold several baselines (e.g. the ring beside
    a mutex + deque and boost's queue): the ac_core row shows the first, and each baseline row shows
    its own value and its ratio to the group's ac_core figure.
    """
    benches = report.get("benchmarks", [])

    def pair_key(b: dict[str, Any]) -> str:
        return b.get("group") or "figure:" + str(b.get("extra_info", {}).get("figure", b["name"]))

    baselines: dict[str, float] = {}
    ours: dict[str, float] = {}
    for b in benches:
        role = b.get("extra_info", {}).get("role")
        if role == "baseline":
            baselines.setdefault(pair_key(b), ratio_ns(b))
        elif role == "ac_core":
            ours.setdefault(pair_key(b), ratio_ns(b))
    rows = []
    for b in benches:
        info = b.get("extra_info", {})
        role = info.get("role", "")
        value = headline_ns(b)
        p99 = info.get("p99_ns")
        if role == "ac_core":
            baseline, reference = baselines.get(pair_key(b)), ratio_ns(b)
        elif role == "baseline":
            baseline, reference = ratio_ns(b), ours.get(pair_key(b))
        else:
            baseline = reference = None
        ratio = f"{baseline / reference:.1f}x" if baseline and reference else "-"
        verdict = "-"
        if "meets_target" in info:  # targets not in ns (e.g. physics ticks) are judged by the benchmark
            verdict = "meets" if info["meets_target"] else "misses"
        elif "target_ns" in info:
            checked = p99 if info.get("check_ns") == "p99" and p99 is not None else value
            verdict = "meets" if checked <= float(info["target_ns"]) else "misses"
        rows.append(
            {
                "figure": info.get("figure", b["name"]),
                "who": role or "-",
                "what": str(info.get("what", "")),
                "p50/value": format_ns(value),
                "p99": format_ns(p99),
                "baseline": format_ns(baseline),
                "baseline/ours": ratio,
                "target": info.get("target", "-"),
                "verdict": verdict,
                "note": str(info.get("note", "")),
                "test": b["name"],
            }
        )
    return rows


def print_table(rows: list[dict[str, str]], out: TextIO | None = None) -> None:
    # Resolved per call, not as a default argument: a default would pin the sys.stdout of import
    # time, and output captured or redirected later (tests, contextlib.redirect_stdout) would miss it.
    out = out or sys.stdout
    if not rows:
        print("no benchmark results", file=out)
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=out)
    print("  ".join("-" * widths[c] for c in columns), file=out)
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in columns), file=out)


def run(args: argparse.Namespace) -> int:
    bench_dir, tried = find_benchmark_dir(args.dir)
    if bench_dir is None:
        print(
            "ac-core bench: no benchmark folder (with bench_*.py files) at "
            + ", ".join(str(d) for d in tried)
            + "; the benchmarks ship with the source tree, not the installed package: run from a source "
            "checkout (its root, or with ac_core imported from its python/ folder) or pass --dir <checkout>/benchmarks",
            file=sys.stderr,
        )
        return 2
    targets = benchmark_files(bench_dir, args.file) if args.file else [bench_dir]
    json_path = Path(args.json) if args.json else Path(tempfile.mkstemp(prefix="ac_core_bench_", suffix=".json")[1])
    if args.json:
        # A file left by an earlier run would otherwise be printed as this run's results if pytest
        # fails before writing.
        json_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", *map(str, targets), "-q", "--benchmark-only"]
    cmd.append(f"--benchmark-json={json_path}")
    if args.k:
        cmd += ["-k", args.k]
    extra = [a for a in args.pytest_args if a != "--"]
    cmd += extra
    env = dict(os.environ)
    env["AC_CORE_BENCH_FULL"] = "0" if args.quick else "1"
    package_parent = str(Path(ac_core.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    try:
        result = subprocess.run(cmd, env=env, check=False)
        if not json_path.exists() or json_path.stat().st_size == 0:
            print("pytest-benchmark wrote no results (did every benchmark fail or get skipped?)", file=sys.stderr)
            return result.returncode or 1
        report = json.loads(json_path.read_text())
        print()
        print_table(summary_rows(report))
        if args.json:
            print(f"\nJSON (pytest-benchmark format): {json_path}")
        return result.returncode
    finally:
        if not args.json:
            json_path.unlink(missing_ok=True)
