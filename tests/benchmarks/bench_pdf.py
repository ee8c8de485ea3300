#!/usr/bin/env python
"""Benchmark of PDF sheets (a standalone script, not a test): a seed worksheet's PDF in under 5 s.

For each worksheet asked (default: the seed 001_linear_network) it times

  * the whole process, as a user runs it: ``symbackprop solve W --format pdf -o FILE``, with and
    without ``--figure-values``, and ``symbackprop exercise W --format pdf -o FILE`` (wall clock,
    the median of several runs), beside ``symbackprop solve W --format md -o FILE`` (the same
    process without LaTeX: Python, SymPy and the sheet);
  * inside one process: solving (derivation and layout, the figure's placement included), the
    LaTeX rendering, and pdflatex (how many runs its log asked for);

prints a Markdown table and PASS/FAIL against the 5 s target, and always exits 0.

Usage:  python tests/benchmarks/bench_pdf.py [--repeats N] [WORKSHEET ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import symbackprop  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402
from symbackprop.sheets import pdf
from symbackprop import solve  # noqa: E402

TARGET = 5.0  # seconds, wall clock, for one PDF from the command line
SEED = ROOT / "worksheets" / "001_linear_network.yaml"


def cli_wall(args: list[str], repeats: int) -> float:
    """The median wall time of ``symbackprop ARGS -o FILE`` as a new process."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            out = Path(tmp) / f"out{i}"
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", "from symbackprop.cli import main; main()", *args,
                                   "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.strip())
    return statistics.median(times)


def in_process(path: Path) -> dict[str, float]:
    """Seconds of each phase of one PDF inside one process (after a first warm-up run)."""
    runs = {"count": 0}
    real_run = pdf._run

    def counting(*args, **kwargs):
        runs["count"] += 1
        return real_run(*args, **kwargs)

    solve(path).latex()  # warm-up: imports
    clear_cache()
    start = time.perf_counter()
    solution = solve(path, figure_values=True)
    solved = time.perf_counter()
    tex = solution.latex()
    rendered = time.perf_counter()
    pdf._run = counting
    try:
        data = pdf.compile_pdf(tex)
    finally:
        pdf._run = real_run
    compiled = time.perf_counter()
    return {"solve": solved - start, "render": rendered - solved, "pdflatex": compiled - rendered,
            "runs": runs["count"], "bytes": len(data)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of each command (the median is kept)")
    ap.add_argument("worksheets", nargs="*", type=Path, default=[SEED])
    args = ap.parse_args()
    engine = shutil.which(pdf.ENGINE)
    if engine is None:
        print(f"{pdf.ENGINE} is not installed: nothing to measure (apt-get install {' '.join(pdf.DEBIAN_PACKAGES)})")
        return
    version = subprocess.run([engine, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print("# symbackprop PDF benchmark\n")
    print(f"Python {sys.version.split()[0]}, symbackprop {symbackprop.__version__}, {version}, "
          f"{os.cpu_count()} CPUs; command: {' '.join([Path(sys.executable).name] + sys.argv)}\n")
    print("| worksheet | solve --format md (s) | solve --format pdf (s) | with --figure-values (s) | "
          "exercise --format pdf (s) | in one process: solve (s) | render (s) | pdflatex (s) | pdflatex runs | "
          "PDF bytes | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for path in args.worksheets:
        w = str(path)
        try:
            markdown = cli_wall(["solve", w, "--format", "md"], args.repeats)
            plain = cli_wall(["solve", w, "--format", "pdf"], args.repeats)
            valued = cli_wall(["solve", w, "--format", "pdf", "--figure-values"], args.repeats)
            exercise = cli_wall(["exercise", w, "--format", "pdf"], args.repeats)
            phases = in_process(path)
        except RuntimeError as exc:
            print(f"| {path.stem} | failed: {exc} |")
            continue
        verdict = "PASS" if max(plain, valued, exercise) < TARGET else "FAIL"
        print(f"| {path.stem} | {markdown:.2f} | {plain:.2f} | {valued:.2f} | {exercise:.2f} | {phases['solve']:.3f} | "
              f"{phases['render']:.3f} | {phases['pdflatex']:.2f} | {phases['runs']} | {phases['bytes']} | "
              f"{verdict} (< {TARGET:g} s) |")


if __name__ == "__main__":
    main()
