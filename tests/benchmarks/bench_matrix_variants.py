#!/usr/bin/env python
"""Benchmark of a class's variants of a worksheet in matrices (a standalone script, not a timed test).

Draws variants 1 … N of ``worksheets/004_mlp_random.yaml`` (2 inputs, 3 ReLU units, 2 outputs, a
batch of 2; every entry of X, W1, b1, W2, b2 drawn, three ``require:`` conditions) with the
default processes (``-j 0``: one per core from 40 variants), in this process (start-up not
counted), in two loads:

- ``key``: ``classroom.variants.run`` with each variant's answer-key row and its own worksheet
  (``worksheets/ID.yaml``): drawing, the derivation in matrices, the conditions, the key;
- ``solutions``: ``classroom.folder.write`` with the solution sheets in Markdown and LaTeX, the
  answer key and the variants' worksheets (no PDF), into a temporary folder in the checkout.

Prints a Markdown table, PASS/FAIL for the target (1000 variants, ``key``, in under 20 s wall on
2 cores) and the load average, and always exits 0. ``--profile`` adds a cProfile of 100 variants
in one process.

Usage:  python tests/benchmarks/bench_matrix_variants.py [--sizes 100,1000] [--loads key,solutions] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from profiling import print_profile  # noqa: E402  (beside this script)
from symbackprop.classroom.answerkey import Row, row  # noqa: E402
from symbackprop.classroom.folder import Request, write  # noqa: E402
from symbackprop.classroom.roster import numbered  # noqa: E402
from symbackprop.classroom.variant_worksheet import variant_yaml  # noqa: E402
from symbackprop.classroom.variants import Plan, Variant, plan, run  # noqa: E402
from symbackprop.worksheet.read import load  # noqa: E402

WORKSHEET = ROOT / "worksheets" / "004_mlp_random.yaml"
TARGET_N, TARGET_S = 1000, 20.0
LOADS = ("key", "solutions")


def key_job(v: Variant) -> tuple[Row, str]:
    """What the class folder keeps of a variant besides its sheets: its key row and its worksheet."""
    return row(v), variant_yaml(v.worksheet.source, v)


def cpu() -> float:
    """CPU seconds of this process and its finished children (the workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(p: Plan, n: int, what: str) -> tuple[float, float, int]:
    """Wall and CPU time of one run of ``what`` on variants 1..n with the default processes, and the
    draws made (on a shared machine the wall time depends on the others' load, the CPU time less)."""
    c0, t0 = cpu(), time.perf_counter()
    if what == "key":
        draws = run(p, [str(i) for i in range(1, n + 1)], key_job).tally.draws
    else:
        with tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-matrix-variants-") as tmp:
            draws = write(p, numbered(n), True, Request(("md", "tex"), ("solution",)), Path(tmp) / "class").tally.draws
    return time.perf_counter() - t0, cpu() - c0, draws


def profile(p: Plan, n: int, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    run(p, [str(i) for i in range(1, n + 1)], key_job, jobs=1)
    prof.disable()
    print_profile(prof, f"cProfile of {n} variants (key) in one process (top {top} cumulative)", r"symbackprop", top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="comma-separated numbers of variants")
    ap.add_argument("--loads", default=",".join(LOADS), help="comma-separated: key, solutions")
    ap.add_argument("--profile", action="store_true", help="also cProfile 100 variants in one process")
    ap.add_argument("--profile-top", type=int, default=30)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    loads = [w for w in args.loads.split(",") if w in LOADS]

    p = plan(load(WORKSHEET), 1)
    print("# symbackprop variants benchmark: a worksheet in matrices\n")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at "
          f"the start; worksheet {WORKSHEET.relative_to(ROOT)}; default processes.\n")
    print("| variants | load | wall (s) | CPU, all processes (s) | ms a variant (wall) | draws |")
    print("|---:|---|---:|---:|---:|---:|")
    key_times = {}
    for n in sizes:
        for what in loads:
            wall, used, draws = timed(p, n, what)
            if what == "key":
                key_times[n] = wall
            print(f"| {n} | {what} | {wall:.2f} | {used:.2f} | {1000 * wall / n:.1f} | {draws} |", flush=True)
    if TARGET_N in key_times:
        ok = key_times[TARGET_N] < TARGET_S
        print(f"\nTarget: {TARGET_N} variants drawn, derived in matrices and keyed in under {TARGET_S:g} s wall: "
              f"{key_times[TARGET_N]:.2f} s — {'PASS' if ok else 'FAIL'}")
    print(f"Load average at the end: {os.getloadavg()[0]:.2f} (other processes share the CPUs)")
    if args.profile:
        profile(p, 100, args.profile_top)
    shutil.rmtree(ROOT / "tests" / "benchmarks" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
