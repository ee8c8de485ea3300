#!/usr/bin/env python
"""Benchmark of ``symbackprop variants`` (a standalone script, not a timed test).

Times the whole command, as a user runs it (a fresh process, start-up included):

    symbackprop variants worksheets/001_linear_network_random.yaml -n N --seed 1 -o DIR --format md,tex
        --sheets solution

for N = 100, 300 and 1000 — the target's load: a solution sheet in Markdown and LaTeX for each
variant, answers.json and answers.csv, no PDF — with one process (-j 1) and with the default (a
process per core from 40 variants), then the default load (exercise and solution sheets) with the
default processes. DIR is a temporary folder in the checkout (where an instructor's course folder
would be; /tmp can be slower). Prints a Markdown table, PASS/FAIL for the target (1000 variants
in under 10 s wall) and the load average, and always exits 0. ``--profile`` adds a cProfile of
100 variants in one process.

Usage:  python tests/benchmarks/bench_variants.py [--sizes 100,300,1000] [--repeats R] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from profiling import print_profile  # noqa: E402  (beside this script)

WORKSHEET = ROOT / "worksheets" / "001_linear_network_random.yaml"
TARGET_N, TARGET_S = 1000, 10.0


def command(n: int, out: Path, jobs: int | None, sheets: str) -> list[str]:
    cmd = [sys.executable, "-c", "from symbackprop.cli import main; main()", "variants", str(WORKSHEET),
           "-n", str(n), "--seed", "1", "-o", str(out), "--format", "md,tex", "--sheets", sheets]
    return cmd + (["-j", str(jobs)] if jobs is not None else [])


def timed(n: int, jobs: int | None, repeats: int, sheets: str = "solution") -> tuple[float, int]:
    """Best wall time of ``repeats`` runs, and the number of files written."""
    best, files = None, 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-variants-") as tmp:
            out = Path(tmp) / "class"
            t0 = time.perf_counter()
            proc = subprocess.run(command(n, out, jobs, sheets), cwd=ROOT, capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                sys.exit(f"variants failed (exit {proc.returncode}): {proc.stderr.strip()}")
            files = sum(1 for p in out.rglob("*") if p.is_file())
        best = elapsed if best is None else min(best, elapsed)
    return best, files


def profile(n: int, top: int) -> None:
    from symbackprop.classroom.folder import Request, write
    from symbackprop.classroom.variants import plan
    from symbackprop.worksheet.read import load

    p = plan(load(WORKSHEET), 1)
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-variants-") as tmp:
        prof = cProfile.Profile()
        prof.enable()
        write(p, [str(i) for i in range(1, n + 1)], True, Request(("md", "tex"), ("solution",)), Path(tmp) / "c",
              jobs=1)
        prof.disable()
    print_profile(prof, f"cProfile of {n} variants in one process (top {top} cumulative)", r"symbackprop|jinja2|sympy", top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,300,1000", help="comma-separated numbers of variants")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each size (the best is kept)")
    ap.add_argument("--profile", action="store_true", help="also cProfile 100 variants in one process")
    ap.add_argument("--profile-top", type=int, default=25)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print("# symbackprop variants benchmark\n")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at "
          f"the start; worksheet {WORKSHEET.relative_to(ROOT)}; md + tex, no PDF.\n")
    print("| variants | solutions + key, -j 1 (s) | solutions + key, default -j (s) | ms a variant | "
          "exercises + solutions + key, default -j (s) | files |")
    print("|---:|---:|---:|---:|---:|---:|")
    results = {}
    for n in sizes:
        serial, _ = timed(n, 1, args.repeats)
        default, _ = timed(n, None, args.repeats)
        both, files = timed(n, None, args.repeats, "exercise,solution")
        results[n] = min(serial, default)
        print(f"| {n} | {serial:.2f} | {default:.2f} | {1000 * results[n] / n:.1f} | {both:.2f} | {files} |",
              flush=True)
    if TARGET_N in results:
        ok = results[TARGET_N] < TARGET_S
        print(f"\nTarget: {TARGET_N} variants (solution sheets in md and tex and the answer key) in under "
              f"{TARGET_S:g} s wall: {results[TARGET_N]:.2f} s — {'PASS' if ok else 'FAIL'}")
    print(f"Load average at the end: {os.getloadavg()[0]:.2f} (other processes share the 2 CPUs)")
    if args.profile:
        profile(100, args.profile_top)
    shutil.rmtree(ROOT / "tests" / "benchmarks" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
