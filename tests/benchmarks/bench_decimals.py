#!/usr/bin/env python
"""Benchmark of a sheet in decimals (a standalone script, not a test): the 2-2-2 example.

It times the whole process, as a user runs it, on worksheets/005_step_by_step.yaml (the 2-2-2
sigmoid network of "A Step by Step Backpropagation Example": 9 significant digits, one update step):

  * ``symbackprop solve W --format pdf -o FILE`` (target: under 3 s);
  * ``symbackprop solve W --format md -o FILE`` (target: under 1.5 s);

each in a fresh process (cold caches, Python's start-up and imports included), the best and the
median of several runs (the verdict on the median), beside the processes' CPU time (user + system), which the machine's other
work moves less than the wall clock. Prints a Markdown table with PASS/FAIL and always exits 0.

Usage:  python tests/benchmarks/bench_decimals.py [--repeats N] [WORKSHEET]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKSHEET = ROOT / "worksheets" / "005_step_by_step.yaml"
TARGETS = {"pdf": 3.0, "md": 1.5}  # seconds, wall clock, the whole process


def run(args: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of ``symbackprop ARGS -o FILE``, each run a new process."""
    wall, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", *args,
                                   "-o", str(Path(tmp) / f"out{i}")], capture_output=True, text=True, cwd=ROOT)
            wall.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode != 0:
                raise SystemExit(f"failed: {' '.join(args)}: {proc.stderr.strip()}")
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of each command")
    ap.add_argument("worksheet", nargs="?", type=Path, default=WORKSHEET)
    args = ap.parse_args()
    print("# symbackprop: a sheet in decimals\n")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; command: {' '.join([Path(sys.executable).name] + sys.argv)}\n")
    print("| command | best (s) | median (s) | median CPU (s) | target |")
    print("|---|---:|---:|---:|---|")
    for fmt, target in TARGETS.items():
        if fmt == "pdf" and shutil.which("pdflatex") is None:
            print(f"| `solve --format {fmt}` | pdflatex is not installed | | | |")
            continue
        wall, cpu = run(["solve", str(args.worksheet), "--format", fmt], args.repeats)
        verdict = "PASS" if statistics.median(wall) < target else "FAIL"
        print(f"| `symbackprop solve {args.worksheet.name} --format {fmt}` | {min(wall):.2f} | "
              f"{statistics.median(wall):.2f} | {statistics.median(cpu):.2f} | {verdict} (< {target:g} s) |")


if __name__ == "__main__":
    main()
